// The writer's Bloom filter of stored checkout tokens (order::prepare_checkout_filter): layers
// of blocked Bloom filters. Each token sets 6 bits of one 512-bit block (one cache line), which
// at 10 bits per token answers "maybe" for ~1% of absent tokens. Tokens go into the newest
// layer; once it holds its capacity, a layer twice as large starts (no rebuild, so the writer
// never stalls for growth), up to `bytes_max` in all, after which the last layer takes the
// rest (answering "maybe" more often). A lookup asks every layer. Never "no" for a token added.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

namespace jishi::order {

class TokenBloom {
 public:
  // Empty, with one layer for `capacity` tokens, at most `bytes_max` bytes in all.
  void reset(std::size_t capacity, std::size_t bytes_max) {
    layers_.clear();
    bytes_ = 0;
    tokens_ = 0;
    bytes_max_ = bytes_max;
    start_layer(std::max<std::size_t>(capacity, 1));
  }
  void add(std::int64_t buyer, std::string_view token) {
    Layer* last = &layers_.back();
    if (last->tokens >= last->capacity && bytes_ + layer_bytes(2 * last->capacity) <= bytes_max_) {
      start_layer(2 * last->capacity);
      last = &layers_.back();
    }
    std::uint64_t h = hash(buyer, token);
    std::uint64_t* block = &last->words[(h & last->block_mask) * kBlockWords];
    std::uint64_t bits = mix(h);
    for (int i = 0; i < kBitsPerToken; ++i, bits >>= 9)
      block[(bits & 511) / 64] |= std::uint64_t{1} << (bits & 63);
    ++last->tokens;
    ++tokens_;
  }
  bool may_hold(std::int64_t buyer, std::string_view token) const {
    std::uint64_t h = hash(buyer, token);
    std::uint64_t positions = mix(h);
    for (const Layer& layer : layers_) {
      const std::uint64_t* block = &layer.words[(h & layer.block_mask) * kBlockWords];
      std::uint64_t bits = positions;
      bool all = true;
      for (int i = 0; all && i < kBitsPerToken; ++i, bits >>= 9)
        all = (block[(bits & 511) / 64] & (std::uint64_t{1} << (bits & 63))) != 0;
      if (all) return true;
    }
    return false;
  }
  std::size_t tokens() const { return tokens_; }
  std::size_t bytes() const { return bytes_; }
  std::size_t layers() const { return layers_.size(); }
  std::size_t capacity() const {
    std::size_t c = 0;
    for (const Layer& l : layers_) c += l.capacity;
    return c;
  }

 private:
  static constexpr std::size_t kBlockBits = 512, kBlockWords = kBlockBits / 64;
  static constexpr int kBitsPerToken = 6;
  struct Layer {
    std::vector<std::uint64_t> words;
    std::size_t block_mask = 0, capacity = 0, tokens = 0;
  };
  // 10 bits per token, in a power of two of 512-bit blocks.
  static std::size_t layer_bytes(std::size_t capacity) {
    return std::bit_ceil(std::max<std::size_t>(capacity * 10, kBlockBits)) / 8;
  }
  void start_layer(std::size_t capacity) {
    std::size_t bytes = layer_bytes(capacity);
    if (bytes > bytes_max_)
      bytes = std::max<std::size_t>(std::bit_floor(bytes_max_), kBlockBits / 8);
    Layer l;
    l.words.assign(bytes / 8, 0);
    l.block_mask = bytes * 8 / kBlockBits - 1;
    l.capacity = capacity;
    layers_.push_back(std::move(l));
    bytes_ += bytes;
  }
  static std::uint64_t mix(std::uint64_t h) {  // splitmix64's finaliser
    h ^= h >> 30;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 27;
    h *= 0x94D049BB133111EBull;
    return h ^ (h >> 31);
  }
  static std::uint64_t hash(std::int64_t buyer, std::string_view token) {
    return mix(std::hash<std::string_view>{}(token) ^
               (static_cast<std::uint64_t>(buyer) * 0x9E3779B97F4A7C15ull));
  }

  std::vector<Layer> layers_;
  std::size_t bytes_ = 0, tokens_ = 0, bytes_max_ = 0;
};

}  // namespace jishi::order
