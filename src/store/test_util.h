// Test helpers for store: a fresh SQLite file per test.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <string>

namespace jishi::store::testing {

inline std::string fresh_db_path(const std::string& name) {
  static std::atomic<int> counter{0};
  std::string path = ::testing::TempDir() + "/jishi_" + name + "_" + std::to_string(::getpid()) +
                     "_" + std::to_string(counter++) + ".db";
  for (auto suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  return path;
}

}  // namespace jishi::store::testing
