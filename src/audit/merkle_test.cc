// Tests of the RFC 6962 / RFC 9162 Merkle tree functions: the reference tree of RFC 6962's
// implementation (roots, inclusion and consistency proofs), exhaustive tampering over its small
// trees, and randomised trees checked against a naive recursive MTH.
#include "audit/merkle.h"

#include <gtest/gtest.h>

#include <bit>
#include <cctype>
#include <cstdint>
#include <initializer_list>
#include <iostream>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace jishi::audit::merkle {
namespace {

constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();

std::string unhex_bytes(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

Hash h(std::string_view hex) {
  auto r = from_hex(hex);
  EXPECT_TRUE(r.has_value()) << hex;
  return r.value_or(Hash{});
}

std::vector<Hash> hs(std::initializer_list<std::string_view> hexes) {
  std::vector<Hash> out;
  for (auto x : hexes) out.push_back(h(x));
  return out;
}

// The leaves of RFC 6962's reference implementation's test tree.
const std::vector<std::string>& test_leaves() {
  static const std::vector<std::string> leaves = [] {
    std::vector<std::string> out;
    for (const char* x : {"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                          "606162636465666768696a6b6c6d6e6f"})
      out.push_back(unhex_bytes(x));
    return out;
  }();
  return leaves;
}

std::vector<Hash> test_leaf_hashes() {
  std::vector<Hash> out;
  for (const auto& l : test_leaves()) out.push_back(leaf_hash(l));
  return out;
}

// Root of the first n test leaves, n = 0..8.
constexpr const char* kRoots[] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

// MTH straight from RFC 6962 §2.1, independent of the code under test.
Hash naive_root(std::span<const Hash> d) {
  if (d.empty()) return *from_hex(kRoots[0]);
  if (d.size() == 1) return d[0];
  std::size_t k = 1;
  while (k * 2 < d.size()) k *= 2;
  return node_hash(naive_root(d.first(k)), naive_root(d.subspan(k)));
}

// Expected proof lengths, from the shape of the tree: an inclusion proof has one hash per level
// where the leaf's subtree has a sibling; see also transparency-dev/merkle's decompInclProof.
std::size_t inclusion_length(std::uint64_t index, std::uint64_t size) {
  const int inner = std::bit_width(index ^ (size - 1));
  return inner + std::popcount(index >> inner);
}
std::size_t consistency_length(std::uint64_t first, std::uint64_t second) {
  if (first == second) return 0;
  const int inner = std::bit_width((first - 1) ^ (second - 1));
  const int border = std::popcount((first - 1) >> inner);
  const int shift = std::countr_zero(first);
  return inner - shift + border + (std::has_single_bit(first) ? 0 : 1);
}

// Every way of changing one thing about a valid inclusion proof makes it fail.
void expect_inclusion_tamper_fails(const std::vector<Hash>& leaves, std::uint64_t index,
                                   std::span<const Hash> roots_by_size) {
  const std::uint64_t n = leaves.size();
  const Hash& r = roots_by_size[n];
  const auto proof = inclusion_proof(leaves, index);
  ASSERT_TRUE(verify_inclusion(leaves[index], index, n, proof, r));
  for (std::size_t i = 0; i < proof.size(); ++i)
    for (std::size_t b = 0; b < proof[i].size(); ++b) {
      auto bad = proof;
      bad[i][b] ^= 0x01;
      EXPECT_FALSE(verify_inclusion(leaves[index], index, n, bad, r)) << i << " " << b;
    }
  for (std::size_t b = 0; b < 32; ++b) {
    Hash bad = leaves[index];
    bad[b] ^= 0x80;
    EXPECT_FALSE(verify_inclusion(bad, index, n, proof, r));
  }
  for (std::uint64_t j = 0; j < n; ++j) {
    if (leaves[j] != leaves[index]) {
      EXPECT_FALSE(verify_inclusion(leaves[j], index, n, proof, r));
    }
  }
  for (std::uint64_t j = 0; j < n + 3; ++j) {
    if (j != index) {
      EXPECT_FALSE(verify_inclusion(leaves[index], j, n, proof, r)) << j;
    }
  }
  EXPECT_FALSE(verify_inclusion(leaves[index], kMax, n, proof, r));
  EXPECT_FALSE(verify_inclusion(leaves[index], index, 0, proof, r));
  for (std::size_t m = 0; m < roots_by_size.size(); ++m) {
    if (m != n) {
      EXPECT_FALSE(verify_inclusion(leaves[index], index, n, proof, roots_by_size[m]));
    }
  }
  // Wrong lengths: a hash too many (anywhere) or too few.
  for (std::size_t at = 0; at <= proof.size(); ++at) {
    auto longer = proof;
    longer.insert(longer.begin() + static_cast<std::ptrdiff_t>(at), r);
    EXPECT_FALSE(verify_inclusion(leaves[index], index, n, longer, r));
  }
  if (!proof.empty()) {
    EXPECT_FALSE(
        verify_inclusion(leaves[index], index, n, std::span(proof).first(proof.size() - 1), r));
    EXPECT_FALSE(verify_inclusion(leaves[index], index, n, std::span(proof).subspan(1), r));
  }
}

// Every way of changing one thing about a valid consistency proof makes it fail.
void expect_consistency_tamper_fails(std::uint64_t m, std::uint64_t n, std::span<const Hash> proof,
                                     std::span<const Hash> roots_by_size) {
  const Hash& rm = roots_by_size[m];
  const Hash& rn = roots_by_size[n];
  ASSERT_TRUE(verify_consistency(m, n, rm, rn, proof));
  for (std::size_t i = 0; i < proof.size(); ++i)
    for (std::size_t b = 0; b < proof[i].size(); ++b) {
      std::vector<Hash> bad(proof.begin(), proof.end());
      bad[i][b] ^= 0x01;
      EXPECT_FALSE(verify_consistency(m, n, rm, rn, bad)) << i << " " << b;
    }
  for (std::size_t k = 0; k < roots_by_size.size(); ++k) {
    const Hash& other = roots_by_size[k];
    if (other != rm) {
      EXPECT_FALSE(verify_consistency(m, n, other, rn, proof));
    }
    if (other != rn) {
      EXPECT_FALSE(verify_consistency(m, n, rm, other, proof));
    }
  }
  for (std::size_t at = 0; at <= proof.size(); ++at) {
    std::vector<Hash> longer(proof.begin(), proof.end());
    longer.insert(longer.begin() + static_cast<std::ptrdiff_t>(at), rn);
    EXPECT_FALSE(verify_consistency(m, n, rm, rn, longer));
  }
  if (!proof.empty()) {
    EXPECT_FALSE(verify_consistency(m, n, rm, rn, proof.first(proof.size() - 1)));
    EXPECT_FALSE(verify_consistency(m, n, rm, rn, proof.subspan(1)));
  }
  EXPECT_FALSE(verify_consistency(0, n, rm, rn, proof));
  EXPECT_FALSE(verify_consistency(n + 1, n, rm, rn, proof));
  EXPECT_FALSE(verify_consistency(m, kMax, rm, rn, proof));
}

TEST(Merkle, HashesAreDomainSeparatedSha256) {
  // The empty tree and the one-leaf tree of "" are SHA-256("") and SHA-256(0x00).
  EXPECT_EQ(to_hex(leaf_hash("")), kRoots[1]);
  EXPECT_EQ(to_hex(root({})), kRoots[0]);
  const Hash a = leaf_hash("a"), b = leaf_hash("b");
  EXPECT_NE(node_hash(a, b), node_hash(b, a));
  // A node is not a leaf whose data is the two children.
  std::string both(a.begin(), a.end());
  both.append(b.begin(), b.end());
  EXPECT_NE(node_hash(a, b), leaf_hash(both));
}

TEST(Merkle, HexRoundTripsAndRejectsAnythingElse) {
  const Hash x = leaf_hash("x");
  EXPECT_EQ(from_hex(to_hex(x)), x);
  std::string upper = to_hex(x);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(from_hex(upper), x);
  EXPECT_EQ(to_hex(*from_hex(kRoots[8])), kRoots[8]);
  EXPECT_FALSE(from_hex(""));
  EXPECT_FALSE(from_hex(std::string(63, 'a')));
  EXPECT_FALSE(from_hex(std::string(65, 'a')));
  EXPECT_FALSE(from_hex(std::string(62, 'a') + "g0"));
  EXPECT_FALSE(from_hex(std::string(62, 'a') + " 0"));
  EXPECT_FALSE(from_hex(std::string(64, '\0')));
}

TEST(Merkle, RootsOfTheReferenceTree) {
  const auto leaves = test_leaf_hashes();
  Frontier f;
  EXPECT_EQ(f.size(), 0u);
  EXPECT_EQ(to_hex(f.root()), kRoots[0]);
  for (std::size_t n = 0; n <= leaves.size(); ++n) {
    EXPECT_EQ(to_hex(root(std::span(leaves).first(n))), kRoots[n]) << n;
    if (n > 0) {
      f.append(leaves[n - 1]);
      EXPECT_EQ(f.size(), n);
      EXPECT_EQ(to_hex(f.root()), kRoots[n]) << n;
    }
  }
}

TEST(Merkle, ProofsOfTheReferenceTree) {
  // From RFC 6962's reference implementation (certificate-transparency, merkle_tree_test).
  const auto leaves = test_leaf_hashes();
  auto first = [&](std::size_t n) { return std::span(leaves).first(n); };
  EXPECT_TRUE(inclusion_proof(first(1), 0).empty());
  EXPECT_EQ(inclusion_proof(first(8), 0),
            hs({"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}));
  EXPECT_EQ(inclusion_proof(first(8), 5),
            hs({"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}));
  EXPECT_EQ(inclusion_proof(first(3), 2),
            hs({"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}));
  EXPECT_EQ(inclusion_proof(first(5), 1),
            hs({"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}));

  EXPECT_TRUE(consistency_proof(first(1), 1).empty());
  EXPECT_EQ(consistency_proof(first(8), 1),
            hs({"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}));
  EXPECT_EQ(consistency_proof(first(8), 6),
            hs({"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}));
  EXPECT_EQ(consistency_proof(first(5), 2),
            hs({"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}));
}

TEST(Merkle, EveryInclusionProofOfTheReferenceTreesVerifiesAndNoTamperedOneDoes) {
  const auto all = test_leaf_hashes();
  std::vector<Hash> roots;
  for (const char* r : kRoots) roots.push_back(h(r));
  for (std::size_t n = 1; n <= all.size(); ++n) {
    const std::vector<Hash> leaves(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n));
    for (std::uint64_t i = 0; i < n; ++i) {
      SCOPED_TRACE("size " + std::to_string(n) + " index " + std::to_string(i));
      EXPECT_EQ(inclusion_proof(leaves, i).size(), inclusion_length(i, n));
      expect_inclusion_tamper_fails(leaves, i, roots);
    }
    EXPECT_TRUE(inclusion_proof(leaves, n).empty());
    EXPECT_TRUE(inclusion_proof(leaves, kMax).empty());
  }
  EXPECT_TRUE(inclusion_proof({}, 0).empty());
  EXPECT_FALSE(verify_inclusion(all[0], 0, 0, {}, roots[0]));
}

TEST(Merkle, EveryConsistencyProofOfTheReferenceTreesVerifiesAndNoTamperedOneDoes) {
  const auto all = test_leaf_hashes();
  std::vector<Hash> roots;
  for (const char* r : kRoots) roots.push_back(h(r));
  for (std::uint64_t n = 1; n <= all.size(); ++n) {
    const auto leaves = std::span(all).first(n);
    for (std::uint64_t m = 1; m <= n; ++m) {
      SCOPED_TRACE("first " + std::to_string(m) + " second " + std::to_string(n));
      const auto proof = consistency_proof(leaves, m);
      EXPECT_EQ(proof.size(), consistency_length(m, n));
      expect_consistency_tamper_fails(m, n, proof, roots);
    }
    // Equal sizes: the empty proof, valid only between equal roots.
    EXPECT_TRUE(verify_consistency(n, n, roots[n], roots[n], {}));
    EXPECT_FALSE(verify_consistency(n, n, roots[n], roots[n - 1], {}));
    EXPECT_FALSE(verify_consistency(n, n, roots[n], roots[n], std::span(roots).first(1)));
    // Out of range: no proof, and nothing verifies.
    EXPECT_TRUE(consistency_proof(leaves, 0).empty());
    EXPECT_TRUE(consistency_proof(leaves, n + 1).empty());
    EXPECT_TRUE(consistency_proof(leaves, kMax).empty());
    EXPECT_FALSE(verify_consistency(0, n, roots[0], roots[n], {}));
    EXPECT_FALSE(verify_consistency(0, n, roots[0], roots[n], std::span(roots).first(1)));
    EXPECT_FALSE(verify_consistency(n + 1, n, roots[n], roots[n], {}));
    EXPECT_FALSE(verify_consistency(n, n - 1, roots[n], roots[n - 1], {}));
  }
  EXPECT_FALSE(verify_consistency(0, 0, roots[0], roots[0], {}));
  EXPECT_FALSE(verify_consistency(kMax, kMax - 1, roots[1], roots[1], {}));
  EXPECT_TRUE(consistency_proof({}, 0).empty());
  EXPECT_TRUE(consistency_proof({}, 1).empty());
}

TEST(Merkle, RandomTreesAgreeWithTheDefinition) {
  const std::uint64_t seed = 0x6a6973686931ULL;
  std::cout << "[          ] random seed " << seed << "\n";
  RecordProperty("seed", std::to_string(seed));
  std::mt19937_64 rng(seed);
  auto below = [&](std::uint64_t n) {
    return std::uniform_int_distribution<std::uint64_t>(0, n - 1)(rng);
  };

  std::vector<Hash> leaves;
  std::vector<Hash> roots;  // roots[n] = root of the first n leaves
  Frontier f;
  roots.push_back(f.root());
  for (std::size_t n = 1; n <= 300; ++n) {
    std::string data(below(40), '\0');
    for (char& c : data) c = static_cast<char>(below(256));
    leaves.push_back(leaf_hash(data));
    f.append(leaves.back());
    roots.push_back(f.root());
    ASSERT_EQ(f.size(), n);
    ASSERT_EQ(roots[n], naive_root(leaves)) << n;
    ASSERT_EQ(roots[n], root(leaves)) << n;
  }

  // Every pair of sizes up to 40, then random pairs and indices up to 300.
  for (std::uint64_t n = 1; n <= 40; ++n) {
    const auto d = std::span(leaves).first(n);
    for (std::uint64_t m = 1; m <= n; ++m) {
      const auto p = consistency_proof(d, m);
      ASSERT_EQ(p.size(), consistency_length(m, n)) << m << " " << n;
      ASSERT_TRUE(verify_consistency(m, n, roots[m], roots[n], p)) << m << " " << n;
      const auto q = inclusion_proof(d, m - 1);
      ASSERT_EQ(q.size(), inclusion_length(m - 1, n)) << m - 1 << " " << n;
      ASSERT_TRUE(verify_inclusion(d[m - 1], m - 1, n, q, roots[n])) << m - 1 << " " << n;
    }
  }
  for (int trial = 0; trial < 150; ++trial) {
    const std::uint64_t n = 1 + below(leaves.size());
    const std::uint64_t i = below(n), m = 1 + below(n);
    SCOPED_TRACE("trial " + std::to_string(trial) + ": size " + std::to_string(n) + " index " +
                 std::to_string(i) + " first " + std::to_string(m));
    const std::vector<Hash> d(leaves.begin(), leaves.begin() + static_cast<std::ptrdiff_t>(n));
    const auto proof = inclusion_proof(d, i);
    EXPECT_EQ(proof.size(), inclusion_length(i, n));
    EXPECT_TRUE(verify_inclusion(d[i], i, n, proof, roots[n]));
    if (!proof.empty()) {
      auto bad = proof;
      bad[below(bad.size())][below(32)] ^= static_cast<std::uint8_t>(1 + below(255));
      EXPECT_FALSE(verify_inclusion(d[i], i, n, bad, roots[n]));
    }
    if (n > 1) {
      const std::uint64_t j = (i + 1 + below(n - 1)) % n;  // any other index
      EXPECT_FALSE(verify_inclusion(d[i], j, n, proof, roots[n])) << j;
    }
    EXPECT_FALSE(verify_inclusion(d[i], i, n, proof, roots[n - 1]));

    const auto cons = consistency_proof(d, m);
    EXPECT_EQ(cons.size(), consistency_length(m, n));
    EXPECT_TRUE(verify_consistency(m, n, roots[m], roots[n], cons));
    if (!cons.empty()) {
      auto bad = cons;
      bad[below(bad.size())][below(32)] ^= static_cast<std::uint8_t>(1 + below(255));
      EXPECT_FALSE(verify_consistency(m, n, roots[m], roots[n], bad));
      EXPECT_FALSE(verify_consistency(m, n, roots[m - 1], roots[n], cons));
      EXPECT_FALSE(verify_consistency(m, n, roots[m], roots[n - 1], cons));
    }
  }
  // The full tampering sweep on a few larger trees.
  for (std::uint64_t n : {255, 256, 257, 300}) {
    const std::vector<Hash> d(leaves.begin(), leaves.begin() + static_cast<std::ptrdiff_t>(n));
    const std::span<const Hash> some_roots = std::span(roots).first(n + 1);
    for (std::uint64_t i : {std::uint64_t{0}, n / 2, n - 1, below(n)}) {
      SCOPED_TRACE("size " + std::to_string(n) + " index " + std::to_string(i));
      expect_inclusion_tamper_fails(d, i, some_roots);
    }
    for (std::uint64_t m : {std::uint64_t{1}, n / 2, n - 1, 1 + below(n)}) {
      SCOPED_TRACE("first " + std::to_string(m) + " second " + std::to_string(n));
      expect_consistency_tamper_fails(m, n, consistency_proof(d, m), some_roots);
    }
  }
}

TEST(Merkle, LargeTreesAreLinear) {
  // 2^17 + 3 leaves: fast only if root and proofs are O(n).
  const std::uint64_t n = (1u << 17) + 3;
  std::vector<Hash> leaves;
  Frontier f;
  for (std::uint64_t i = 0; i < n; ++i) {
    leaves.push_back(leaf_hash(std::to_string(i)));
    f.append(leaves.back());
  }
  const Hash r = root(leaves);
  EXPECT_EQ(f.root(), r);
  for (std::uint64_t i : {std::uint64_t{0}, std::uint64_t{1} << 16, n - 1})
    EXPECT_TRUE(verify_inclusion(leaves[i], i, n, inclusion_proof(leaves, i), r)) << i;
  const std::uint64_t m = 100'000;
  EXPECT_TRUE(
      verify_consistency(m, n, root(std::span(leaves).first(m)), r, consistency_proof(leaves, m)));
}

}  // namespace
}  // namespace jishi::audit::merkle
