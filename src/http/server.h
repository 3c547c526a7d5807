// The HTTP/1.1 server (Beast + Asio, C++20 coroutines). Per connection: keep-alive, idle and
// read timeouts, header and body limits. Per request: request id, rate limit, routing, the
// handler's Reply steps (CPU pool, batched writer), the Idempotency-Key contract, static files,
// access log and metrics. SIGTERM/SIGINT: stop accepting, finish in-flight requests, close
// idle connections, then return from run() so the caller drains the writer.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/field_cipher.h"
#include "core/limits.h"
#include "core/metrics.h"
#include "core/result.h"
#include "http/router.h"
#include "store/store.h"

namespace jishi::http {

struct ServerOptions {
  std::string listen = "127.0.0.1:8080";
  int io_threads = 2;
  int cpu_threads = 2;
  bool access_log = true;
  std::string web_root;
  double rate_limit_per_s = 50;
  double rate_limit_burst = 100;
  // Connection deadlines (limits.h has the defaults): waiting for a request's head on an idle
  // keep-alive connection, reading a request's body and writing a response, and draining an
  // upload we refused. They are kept per connection and swept a few times a second.
  std::uint32_t idle_timeout_ms = limits::idle_timeout_ms;
  std::uint32_t request_read_timeout_ms = limits::request_read_timeout_ms;
  std::uint32_t lingering_close_ms = limits::lingering_close_ms;
  // Periodic clean-up commands (expired sessions and the like), run through the writer at
  // start and hourly, beside the server's own purge of expired idempotency keys.
  std::vector<std::function<bool(store::Tx&)>> housekeeping;
};

class Server {
 public:
  Server(ServerOptions options, Router& router, store::Store& store, const FieldCipher& cipher,
         const Clock& clock, metrics::Registry& registry);
  ~Server();

  // Opens the listening socket; returns the bound port (useful with port 0).
  Result<std::uint16_t> bind();
  // Serves until a signal or stop(); returns after in-flight requests finished.
  void run();
  // Starts a graceful shutdown; safe from any thread.
  void stop();
  // False once shutdown has begun (for /readyz).
  const std::atomic<bool>& ready() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace jishi::http
