// Test helpers for store: a fresh SQLite file per test.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <functional>
#include <string>

#include "store/writer.h"

namespace jishi::store::testing {

inline std::string fresh_db_path(const std::string& name) {
  static std::atomic<int> counter{0};
  std::string path = ::testing::TempDir() + "/jishi_" + name + "_" + std::to_string(::getpid()) +
                     "_" + std::to_string(counter++) + ".db";
  for (auto suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  return path;
}

// Runs f as one writer command; the test fails unless f succeeds and the command commits.
inline void write_ok(Writer& writer, const std::function<Status(Tx&)>& f) {
  Status result;
  auto outcome = run_and_wait(writer, [&](Tx& tx) {
    result = f(tx);
    return result.has_value();
  });
  ASSERT_TRUE(result) << result.error().detail;
  ASSERT_EQ(outcome, Outcome::committed);
}

}  // namespace jishi::store::testing
