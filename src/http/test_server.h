// Test helper: a real jishi HTTP server on 127.0.0.1 with an ephemeral port, a fresh SQLite
// file and the routes a test adds, served on a background thread until destruction.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>

#include "core/clock.h"
#include "core/field_cipher.h"
#include "core/metrics.h"
#include "http/router.h"
#include "http/server.h"
#include "store/store.h"
#include "store/test_util.h"

namespace jishi::http::testing {

class TestServer {
 public:
  TestServer() : router(registry) {
    options.listen = "127.0.0.1:0";
    options.io_threads = 2;
    options.access_log = false;
    options.rate_limit_per_s = 1e6;
    options.rate_limit_burst = 1e6;
  }
  ~TestServer() { stop(); }

  // Call after adding routes.
  void start() {
    store::StoreOptions so;
    so.sqlite_path = store::testing::fresh_db_path("http_test_server");
    so.read_connections = 1;
    auto st = store::Store::open(so, &registry);
    ASSERT_TRUE(st) << st.error().detail;
    store_ = std::move(*st);
    server_ = std::make_unique<Server>(options, router, *store_, cipher_, clock_, registry);
    auto bound = server_->bind();
    ASSERT_TRUE(bound) << bound.error().detail;
    port = *bound;
    url = "http://127.0.0.1:" + std::to_string(port);
    thread_ = std::thread([this] { server_->run(); });
  }

  void stop() {
    if (!server_) return;
    server_->stop();
    if (thread_.joinable()) thread_.join();
    store_->stop_writer();
    server_.reset();
  }

  metrics::Registry registry;
  Router router;
  ServerOptions options;  // change before start()
  std::string url;
  std::uint16_t port = 0;

 private:
  SystemClock clock_;
  FieldCipher cipher_ = FieldCipher::from_keys("k", std::string(32, 'k'), std::string(32, 'l'));
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
};

}  // namespace jishi::http::testing
