#include "audit/merkle.h"

#include <openssl/evp.h>

#include <cstdlib>

namespace jishi::audit::merkle {

namespace {

Hash sha256(std::initializer_list<std::span<const std::uint8_t>> parts) {
  Hash out{};
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  unsigned int n = 0;
  bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  for (auto p : parts) ok = ok && EVP_DigestUpdate(ctx, p.data(), p.size());
  ok = ok && EVP_DigestFinal_ex(ctx, out.data(), &n);
  EVP_MD_CTX_free(ctx);
  if (!ok) std::abort();  // SHA-256 cannot fail on valid input
  return out;
}

// The largest power of two smaller than n (n >= 2).
std::size_t split(std::size_t n) {
  std::size_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

Hash mth(std::span<const Hash> d) {
  if (d.size() == 1) return d[0];
  std::size_t k = split(d.size());
  return node_hash(mth(d.subspan(0, k)), mth(d.subspan(k)));
}

void path(std::span<const Hash> d, std::size_t m, std::vector<Hash>& out) {
  if (d.size() <= 1) return;
  std::size_t k = split(d.size());
  if (m < k) {
    path(d.subspan(0, k), m, out);
    out.push_back(mth(d.subspan(k)));
  } else {
    path(d.subspan(k), m - k, out);
    out.push_back(mth(d.subspan(0, k)));
  }
}

void subproof(std::span<const Hash> d, std::size_t m, bool complete, std::vector<Hash>& out) {
  if (m == d.size()) {
    if (!complete) out.push_back(mth(d));
    return;
  }
  std::size_t k = split(d.size());
  if (m <= k) {
    subproof(d.subspan(0, k), m, complete, out);
    out.push_back(mth(d.subspan(k)));
  } else {
    subproof(d.subspan(k), m - k, false, out);
    out.push_back(mth(d.subspan(0, k)));
  }
}

}  // namespace

Hash leaf_hash(std::string_view data) {
  const std::uint8_t prefix = 0x00;
  return sha256({{&prefix, 1}, {reinterpret_cast<const std::uint8_t*>(data.data()), data.size()}});
}

Hash node_hash(const Hash& left, const Hash& right) {
  const std::uint8_t prefix = 0x01;
  return sha256({{&prefix, 1}, left, right});
}

Hash root(std::span<const Hash> leaves) {
  if (leaves.empty()) return sha256({});
  return mth(leaves);
}

std::vector<Hash> inclusion_proof(std::span<const Hash> leaves, std::uint64_t index) {
  std::vector<Hash> out;
  if (index >= leaves.size()) return out;
  path(leaves, static_cast<std::size_t>(index), out);
  return out;
}

bool verify_inclusion(const Hash& leaf, std::uint64_t index, std::uint64_t size,
                      std::span<const Hash> proof, const Hash& expected_root) {
  if (index >= size) return false;
  std::uint64_t fn = index, sn = size - 1;
  Hash r = leaf;
  for (const Hash& p : proof) {
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      r = node_hash(p, r);
      while (!(fn & 1) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = node_hash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == expected_root;
}

std::vector<Hash> consistency_proof(std::span<const Hash> leaves, std::uint64_t first) {
  std::vector<Hash> out;
  if (first == 0 || first > leaves.size()) return out;
  subproof(leaves, static_cast<std::size_t>(first), true, out);
  return out;
}

bool verify_consistency(std::uint64_t first, std::uint64_t second, const Hash& first_root,
                        const Hash& second_root, std::span<const Hash> proof) {
  if (first == 0 || first > second) return false;
  if (first == second) return proof.empty() && first_root == second_root;
  std::vector<Hash> p(proof.begin(), proof.end());
  if ((first & (first - 1)) == 0) p.insert(p.begin(), first_root);
  if (p.empty()) return false;
  std::uint64_t fn = first - 1, sn = second - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = p[0], sr = p[0];
  for (std::size_t i = 1; i < p.size(); ++i) {
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      fr = node_hash(p[i], fr);
      sr = node_hash(p[i], sr);
      while (!(fn & 1) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = node_hash(sr, p[i]);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && fr == first_root && sr == second_root;
}

void Frontier::append(const Hash& leaf) {
  subtrees_.emplace_back(leaf, 1);
  while (subtrees_.size() >= 2 &&
         subtrees_[subtrees_.size() - 2].second == subtrees_.back().second) {
    auto right = subtrees_.back();
    subtrees_.pop_back();
    auto& left = subtrees_.back();
    left.first = node_hash(left.first, right.first);
    left.second *= 2;
  }
  ++size_;
}

Hash Frontier::root() const {
  if (subtrees_.empty()) return sha256({});
  Hash r = subtrees_.back().first;
  for (std::size_t i = subtrees_.size() - 1; i-- > 0;) r = node_hash(subtrees_[i].first, r);
  return r;
}

std::string to_hex(const Hash& h) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (auto b : h) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

std::optional<Hash> from_hex(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  Hash h{};
  auto val = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < 32; ++i) {
    int hi = val(hex[2 * i]), lo = val(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    h[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return h;
}

}  // namespace jishi::audit::merkle
