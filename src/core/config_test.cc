#include "core/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace jishi {
namespace {

TEST(Config, LaterSourcesOverrideEarlierOnes) {
  std::string path = ::testing::TempDir() + "/jishi_config_test.toml";
  {
    std::ofstream out(path);
    out << "listen = \"127.0.0.1:9000\"\nio_threads = 3\naccess_log = false\n";
  }
  Config c;
  ASSERT_TRUE(config_apply_toml_file(c, path));
  EXPECT_EQ(c.listen, "127.0.0.1:9000");
  EXPECT_EQ(c.io_threads, 3);
  EXPECT_FALSE(c.access_log);
  std::string e1 = "JISHI_LISTEN=0.0.0.0:9100", e2 = "JISHI_UNRELATED_TOOL=x", e3 = "HOME=/root";
  char* env[] = {e1.data(), e2.data(), e3.data(), nullptr};
  ASSERT_TRUE(config_apply_env(c, env));
  EXPECT_EQ(c.listen, "0.0.0.0:9100");
  ASSERT_TRUE(config_set(c, "listen", "127.0.0.1:0"));
  EXPECT_EQ(c.listen, "127.0.0.1:0");
  std::remove(path.c_str());
}

TEST(Config, GatewaySimulatorKeysHaveDefaultsAndBounds) {
  Config c;
  EXPECT_TRUE(c.simulator);
  EXPECT_FALSE(c.simulator_faults);
  EXPECT_EQ(c.pay_sign_type, "SM2");
  ASSERT_TRUE(config_set(c, "simulator", "false"));
  ASSERT_TRUE(config_set(c, "simulator_faults", "true"));
  ASSERT_TRUE(config_set(c, "simulator_notify_retry_ms", "20"));
  ASSERT_TRUE(config_set(c, "simulator_duplicate_pct", "100"));
  ASSERT_TRUE(config_set(c, "simulator_reorder_pct", "0"));
  ASSERT_TRUE(config_set(c, "simulator_seed", "42"));
  ASSERT_TRUE(config_set(c, "pay_sign_type", "RSA2"));
  EXPECT_FALSE(c.simulator);
  EXPECT_TRUE(c.simulator_faults);
  EXPECT_EQ(c.simulator_notify_retry_ms, 20);
  EXPECT_EQ(c.simulator_duplicate_pct, 100);
  EXPECT_EQ(c.simulator_seed, 42);
  EXPECT_EQ(c.pay_sign_type, "RSA2");
  EXPECT_FALSE(config_set(c, "simulator_duplicate_pct", "101"));
  EXPECT_FALSE(config_set(c, "simulator_notify_retry_ms", "0"));
  EXPECT_FALSE(config_set(c, "pay_sign_type", "RSA"));
  EXPECT_FALSE(config_set(c, "pay_sign_type", "sm2"));
}

TEST(Config, RejectsBadValuesWithTheKeyName) {
  Config c;
  auto r = config_set(c, "io_threads", "zero");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("io_threads"), std::string::npos);
  EXPECT_FALSE(config_set(c, "listen", "nohost"));
  EXPECT_FALSE(config_set(c, "listen", "h:70000"));
  EXPECT_FALSE(config_set(c, "no_such_key", "1"));
  EXPECT_FALSE(config_set(c, "log_level", "loud"));
  EXPECT_FALSE(config_set(c, "io_threads", "257"));
  std::string bad = "JISHI_IO_THREADS=-1";
  char* env[] = {bad.data(), nullptr};
  EXPECT_FALSE(config_apply_env(c, env));
}

// By default the writer keeps a core and the HTTP I/O threads take the others, at least one;
// a configured count is used as it is.
TEST(Config, IoThreadsDefaultToTheCoresTheWriterLeaves) {
  Config c;
  EXPECT_EQ(c.io_threads, 0);
  EXPECT_EQ(io_threads_for(c.io_threads, 2), 1);
  EXPECT_EQ(io_threads_for(c.io_threads, 1), 1);
  EXPECT_EQ(io_threads_for(c.io_threads, 0), 1);  // hardware_concurrency() unknown
  EXPECT_EQ(io_threads_for(c.io_threads, 4), 3);
  EXPECT_EQ(io_threads_for(c.io_threads, 64), 63);
  ASSERT_TRUE(config_set(c, "io_threads", "2"));
  EXPECT_EQ(io_threads_for(c.io_threads, 2), 2);
  EXPECT_EQ(io_threads_for(c.io_threads, 64), 2);
  ASSERT_TRUE(config_set(c, "io_threads", "0"));
  EXPECT_EQ(io_threads_for(c.io_threads, 8), 7);
}

TEST(Config, PayTimezoneMustBeAZoneTheServerKnows) {
  Config c;
  EXPECT_EQ(c.pay_timezone, "Asia/Shanghai");
  ASSERT_TRUE(config_set(c, "pay_timezone", "Europe/Berlin"));
  EXPECT_EQ(c.pay_timezone, "Europe/Berlin");
  ASSERT_TRUE(config_set(c, "pay_timezone", "+08:00"));
  auto r = config_set(c, "pay_timezone", "Asia/Atlantis");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("pay_timezone"), std::string::npos);
  EXPECT_EQ(c.pay_timezone, "+08:00");
}

TEST(Config, ReportsTomlSyntaxErrors) {
  std::string path = ::testing::TempDir() + "/jishi_config_bad.toml";
  {
    std::ofstream out(path);
    out << "listen = \n";
  }
  Config c;
  EXPECT_FALSE(config_apply_toml_file(c, path));
  EXPECT_FALSE(config_apply_toml_file(c, path + ".missing"));
  std::remove(path.c_str());
}

}  // namespace
}  // namespace jishi
