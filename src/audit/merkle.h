// RFC 6962 / RFC 9162 Merkle tree hashing over SHA-256: leaf and node hashes, tree roots,
// inclusion and consistency proofs and their verification, and a compact frontier for
// appending leaves one at a time.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace jishi::audit::merkle {

using Hash = std::array<std::uint8_t, 32>;

Hash leaf_hash(std::string_view leaf_data);           // SHA-256(0x00 || data)
Hash node_hash(const Hash& left, const Hash& right);  // SHA-256(0x01 || left || right)
// MTH over leaf hashes; the empty tree's root is SHA-256("").
Hash root(std::span<const Hash> leaf_hashes);
// PATH(index, D[n]) for the tree of leaf_hashes (RFC 6962 2.1.1); empty when out of range.
std::vector<Hash> inclusion_proof(std::span<const Hash> leaf_hashes, std::uint64_t index);
bool verify_inclusion(const Hash& leaf, std::uint64_t index, std::uint64_t tree_size,
                      std::span<const Hash> proof, const Hash& root);
// PROOF(first_size, D[n]) (RFC 6962 2.1.2); empty when first_size is 0 or > n.
std::vector<Hash> consistency_proof(std::span<const Hash> leaf_hashes, std::uint64_t first_size);
bool verify_consistency(std::uint64_t first_size, std::uint64_t second_size, const Hash& first_root,
                        const Hash& second_root, std::span<const Hash> proof);

// The tree's right edge: O(log n) subtree roots, enough to append and to compute the root.
class Frontier {
 public:
  void append(const Hash& leaf);
  Hash root() const;
  std::uint64_t size() const { return size_; }

 private:
  std::vector<std::pair<Hash, std::uint64_t>> subtrees_;  // (root, leaf count), sizes falling
  std::uint64_t size_ = 0;
};

std::string to_hex(const Hash& h);
std::optional<Hash> from_hex(std::string_view hex);

}  // namespace jishi::audit::merkle
