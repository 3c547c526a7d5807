// With client.cc, the only translation units that include Beast's HTTP and Asio: keep it that
// way (compile time). message.cc takes only Beast's status names.
#include "http/server.h"

#include <spdlog/spdlog.h>
#include <boost/asio.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <set>
#include <unordered_set>

#include "core/crypto.h"
#include "core/limits.h"
#include "core/thread_name.h"
#include "http/idempotency.h"
#include "http/rate_limiter.h"
#include "http/static_files.h"

// g++ 12 reports asio's coroutine frame delete as mismatched with its new (a known false
// positive, GCC bug 109224): the frame is allocated and freed by asio's own operators.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace jishi::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
constexpr auto kTuple = asio::as_tuple(use_awaitable);

namespace {

// A write from a handler, carried through the batched writer back to the coroutine.
template <class Handler>
class HttpCommand final : public store::Command {
 public:
  HttpCommand(TxStep step, Handler handler)
      : step_(std::move(step)), handler_(std::move(handler)) {}

  bool execute(store::Tx& tx) override {
    try {
      response_ = step_(tx);
    } catch (const std::exception& e) {
      spdlog::error("write step threw: {}", e.what());
      response_ = problem(Error(Code::internal));
      return false;
    }
    return response_.status < 400 || response_.keep_writes;
  }

  void complete(store::Outcome outcome) noexcept override {
    switch (outcome) {
      case store::Outcome::committed:
        if (response_.on_committed) response_.on_committed();
        break;
      case store::Outcome::rolled_back:
        response_.render = nullptr;
        break;
      case store::Outcome::commit_failed:
        response_ = problem(Error(Code::storage_failure, "the write could not be made durable"));
        response_.headers.emplace_back("Retry-After", "1");
        break;
      case store::Outcome::overloaded:
        response_ = problem(Error(Code::overloaded, "the write queue is full"));
        response_.headers.emplace_back("Retry-After",
                                       std::to_string(limits::overloaded_retry_after_s));
        break;
      case store::Outcome::stopped:
        response_ = problem(Error(Code::unavailable, "the server is shutting down"));
        break;
    }
    auto ex = asio::get_associated_executor(handler_);
    asio::post(ex, [h = std::move(handler_), r = std::move(response_)]() mutable {
      std::move(h)(std::move(r));
    });
  }

 private:
  TxStep step_;
  Handler handler_;
  Response response_;
};

using Deadline = std::chrono::steady_clock::time_point;

// A connection as its I/O thread's sweeper and the shutdown see it. Touched only on the
// connection's own thread (each io_context is single-threaded), except through the shared
// set that shutdown walks under its mutex, which posts back to that thread.
struct SessionState {
  asio::any_io_executor executor;
  tcp::socket* socket = nullptr;
  bool busy = false;
  // When the pending read or write must be done by; max() while a handler runs. The sweeper
  // closes the socket once it has passed, which fails the pending operation.
  Deadline deadline = Deadline::max();
};

// Per I/O thread: its connections, for the sweeper. One timer per thread instead of a timer
// armed and cancelled around every read and write (what beast::tcp_stream did).
struct IoThread {
  asio::io_context* ioc = nullptr;
  std::unordered_set<SessionState*> sessions;
};

std::string_view trim_value(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

}  // namespace

struct Server::Impl {
  Impl(ServerOptions o, Router& r, store::Store& s, const FieldCipher& c, const Clock& cl,
       metrics::Registry& reg)
      : options(std::move(o)),
        router(r),
        store(s),
        cipher(c),
        clock(cl),
        ioc(1),
        acceptor(ioc),
        signals(ioc, SIGINT, SIGTERM),
        purge_timer(ioc),
        cpu(static_cast<std::size_t>(options.cpu_threads)),
        limiter(options.rate_limit_per_s, options.rate_limit_burst, limits::rate_limit_clients_max),
        request_prefix(crypto::hex(crypto::random_bytes(4))) {
    rate_limited = &reg.counter("jishi_http_rate_limited_total", "Requests refused with 429", "");
    reg.gauge("jishi_http_connections", "Open HTTP connections", "",
              [this] { return static_cast<double>(connections.load()); });
    reg.gauge("jishi_http_requests_in_flight", "Requests read and not yet answered", "",
              [this] { return static_cast<double>(in_flight.load()); });
    for (const Route& route : router.routes())
      body_max = std::max(body_max, route.options.body_bytes_max);
    // One single-threaded io_context per I/O thread: a connection lives on one thread, so it
    // needs no strand and its completions never wake another thread.
    for (int i = 1; i < options.io_threads; ++i) {
      workers.push_back(std::make_unique<asio::io_context>(1));
      guards.emplace_back(workers.back()->get_executor());
    }
    io_threads.resize(workers.size() + 1);
    io_threads[0].ioc = &ioc;
    for (std::size_t i = 0; i < workers.size(); ++i) io_threads[i + 1].ioc = workers[i].get();
  }

  ServerOptions options;
  Router& router;
  store::Store& store;
  const FieldCipher& cipher;
  const Clock& clock;
  // What a session's frame touches when it is destroyed (see session()): declared before the
  // io_contexts, so that it outlives the frames they destroy with them at shutdown.
  std::vector<IoThread> io_threads;  // [0] is ioc, then the workers
  std::mutex sessions_mutex;
  std::set<std::shared_ptr<SessionState>> sessions;
  std::atomic<std::size_t> connections{0};
  std::atomic<std::int64_t> in_flight{0};
  // Declared before ioc so they outlive it: ioc's pending accept holds a socket of a worker.
  std::vector<std::unique_ptr<asio::io_context>> workers;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  asio::io_context ioc;  // accepts, signals, timers, and serves connections like a worker
  std::size_t next_context = 0;
  tcp::acceptor acceptor;
  asio::signal_set signals;
  asio::steady_timer purge_timer;
  asio::thread_pool cpu;
  RateLimiter limiter;
  std::string request_prefix;
  std::atomic<std::uint64_t> request_counter{0};
  std::atomic<bool> ready{true};
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> cpu_jobs{0};
  std::size_t body_max = limits::request_body_bytes_max;
  metrics::Counter* rate_limited = nullptr;

  awaitable<void> accept_loop();
  awaitable<void> session(tcp::socket socket, IoThread& thread);
  awaitable<void> sweep(IoThread& thread);
  static Deadline after(std::uint32_t ms) {
    return std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  }
  awaitable<Response> handle(Request& req, Router::Match& match);
  awaitable<Response> submit(TxStep step);
  awaitable<Reply> run_on_cpu(CpuStep step);
  awaitable<void> purge_loop();
  awaitable<void> watchdog();
  void begin_shutdown();
  void stop_all() {
    guards.clear();
    ioc.stop();
    for (auto& w : workers) w->stop();
  }
  std::string next_request_id(std::string_view incoming);
};

std::string Server::Impl::next_request_id(std::string_view incoming) {
  bool usable = !incoming.empty() && incoming.size() <= 64;
  for (char c : incoming)
    usable =
        usable && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
  if (usable) return std::string(incoming);
  return request_prefix + "-" + std::to_string(request_counter.fetch_add(1) + 1);
}

awaitable<Response> Server::Impl::submit(TxStep step) {
  co_return co_await asio::async_initiate<decltype(use_awaitable), void(Response)>(
      [this](auto handler, TxStep s) {
        using H = decltype(handler);
        store.writer().submit(std::make_unique<HttpCommand<H>>(std::move(s), std::move(handler)));
      },
      use_awaitable, std::move(step));
}

awaitable<Reply> Server::Impl::run_on_cpu(CpuStep step) {
  if (cpu_jobs.fetch_add(1) >= limits::cpu_queue_jobs_max) {
    cpu_jobs.fetch_sub(1);
    Response r = problem(Error(Code::overloaded, "too many sign-ins at once"));
    r.headers.emplace_back("Retry-After", "1");
    co_return Reply(std::move(r));
  }
  co_return co_await asio::async_initiate<decltype(use_awaitable), void(Reply)>(
      [this](auto handler, CpuStep s) {
        asio::post(cpu, [this, h = std::move(handler), s = std::move(s)]() mutable {
          Reply out{Response{}};
          try {
            out = s();
          } catch (const std::exception& e) {
            spdlog::error("cpu step threw: {}", e.what());
            out = Reply(problem(Error(Code::internal)));
          }
          cpu_jobs.fetch_sub(1);
          auto ex = asio::get_associated_executor(h);
          asio::post(ex, [h = std::move(h), out = std::move(out)]() mutable {
            std::move(h)(std::move(out));
          });
        });
      },
      use_awaitable, std::move(step));
}

awaitable<Response> Server::Impl::handle(Request& req, Router::Match& match) {
  const Route* route = match.route;
  if (!route || !route->options.unlimited) {
    std::string key;
    auto auth = req.header("authorization");
    if (auth && auth->starts_with("Bearer ") && !(route && route->options.limit_by_address))
      key = "t:" + std::to_string(std::hash<std::string_view>{}(auth->substr(7)));
    else
      key = "ip:" + req.remote_address;
    std::uint32_t retry_after = 1;
    if (!limiter.allow(key, clock.now_us(), retry_after)) {
      rate_limited->add();
      Response r = problem(Error(Code::rate_limited, "slow down: too many requests"), req.path);
      r.headers.emplace_back("Retry-After", std::to_string(retry_after));
      co_return r;
    }
  }
  if (match.outcome != Router::Outcome::found) {
    bool api = req.path == "/api" || req.path.starts_with("/api/");
    if (!api && (req.method == Method::get || req.method == Method::head) &&
        !options.web_root.empty()) {
      if (auto r = serve_static(options.web_root, req.path, req.header("if-none-match")))
        co_return std::move(*r);
    }
    if (match.outcome == Router::Outcome::method_not_allowed) {
      Response r = problem(Error(Code::method_not_allowed,
                                 std::string(method_name(req.method)) + " is not allowed here"),
                           req.path);
      r.headers.emplace_back("Allow", match.allowed);
      co_return r;
    }
    co_return problem(Error(Code::not_found, "no such resource"), req.path);
  }
  req.path_params = std::move(match.params);

  std::optional<IdempotencyContext> idem;
  if (req.method == Method::post) {
    if (auto key = req.header("idempotency-key")) {
      if (auto ok = validate_idempotency_key(*key); !ok) co_return problem(ok.error(), req.path);
      idem = IdempotencyContext{"", std::string(*key), request_fingerprint(cipher, req),
                                route->options.secret_response};
    }
  }

  Reply reply{Response{}};
  try {
    reply = route->handler(req);
  } catch (const std::exception& e) {
    spdlog::error("handler threw id={} route={}: {}", req.request_id, route->pattern, e.what());
    co_return problem(Error(Code::internal), req.path);
  }
  if (idem && !std::holds_alternative<Response>(reply.step)) {
    idem->scope = req.idempotency_scope;
    if (idem->scope == "anon") idem->scope = "anon:" + req.remote_address;
    // Fast path: a retry is answered from the stored response without running anything.
    // The write step checks again inside its transaction, which settles races.
    auto lease = store.reads().lease();
    auto stored = idempotency_lookup(*lease, cipher, clock, *idem);
    if (!stored) co_return problem(stored.error(), req.path);
    if (*stored) co_return std::move(**stored);
  }
  for (;;) {
    if (auto* r = std::get_if<Response>(&reply.step)) co_return std::move(*r);
    if (auto* c = std::get_if<CpuStep>(&reply.step)) {
      CpuStep step = std::move(*c);
      reply = co_await run_on_cpu(std::move(step));
      continue;
    }
    TxStep step = std::move(std::get<TxStep>(reply.step));
    if (idem) step = with_idempotency(std::move(step), *idem, cipher, clock);  // scope set above
    Response written = co_await submit(std::move(step));
    render_now(written);  // here, on this I/O thread, now that the write is durable
    co_return written;
  }
}

awaitable<void> Server::Impl::session(tcp::socket stream, IoThread& thread) {
  auto state = std::make_shared<SessionState>();
  state->executor = stream.get_executor();
  state->socket = &stream;
  thread.sessions.insert(state.get());
  {
    std::lock_guard lock(sessions_mutex);
    sessions.insert(state);
  }
  // Undone however the coroutine ends: at its end, by an exception (co_spawn's detached
  // completion swallows it), or with its frame when the io_context is destroyed at shutdown.
  // The sweeper must never find a session whose socket is gone.
  struct Registered {
    Impl& impl;
    IoThread& thread;
    std::shared_ptr<SessionState> state;
    ~Registered() {
      state->socket = nullptr;
      thread.sessions.erase(state.get());
      {
        std::lock_guard lock(impl.sessions_mutex);
        impl.sessions.erase(state);
      }
      impl.connections.fetch_sub(1);
    }
  } registered{*this, thread, state};
  boost::system::error_code addr_ec;
  std::string remote = stream.remote_endpoint(addr_ec).address().to_string();
  beast::flat_buffer buffer;
  bool refused_body = false;  // we answered without reading a body the client is sending
  for (;;) {
    if (stopping.load()) break;
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits::request_header_bytes_max));
    parser.body_limit(body_max);
    state->busy = false;
    state->deadline = after(options.idle_timeout_ms);
    auto [ec, n] = co_await bhttp::async_read_header(stream, buffer, parser, kTuple);
    state->busy = true;
    in_flight.fetch_add(1);
    // Decremented on every path out of this iteration (answered, or the connection dropped).
    struct InFlight {
      std::atomic<std::int64_t>& n;
      ~InFlight() { n.fetch_sub(1); }
    } in_flight_guard{in_flight};
    auto t0 = std::chrono::steady_clock::now();
    Request req;
    req.remote_address = remote;
    Response res;
    const Route* route = nullptr;
    bool close = false;
    if (ec == bhttp::error::body_limit || ec == bhttp::error::header_limit) {
      res = problem(Error(ec == bhttp::error::body_limit ? Code::body_too_large : Code::bad_request,
                          ec == bhttp::error::body_limit ? "the request body is too large"
                                                         : "the request headers are too large"));
      close = true;
    } else if (ec) {
      break;  // closed, timed out, cancelled by shutdown, or unparseable
    } else {
      auto& h = parser.get();
      req.method = parse_method(std::string_view(h.method_string()));
      req.target = std::string(h.target());
      for (const auto& f : h) {
        std::string name(f.name_string());
        for (auto& c : name)
          if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');  // ASCII, no locale
        req.headers.emplace_back(std::move(name), std::string(trim_value(f.value())));
      }
      req.request_id = next_request_id(req.header("x-request-id").value_or(""));
      Router::Match match;
      if (req.target.size() > limits::request_target_bytes_max) {
        res = problem(Error(Code::bad_request, "the request target is too long"));
        close = true;
      } else if (!parse_target(req.target, req.path, req.query)) {
        res = problem(Error(Code::bad_request, "the request target is malformed"));
        close = true;
      } else {
        match = router.match(req.method, req.path);
        route = match.route;
        std::size_t limit = route ? route->options.body_bytes_max : limits::request_body_bytes_max;
        auto length = parser.content_length();
        if (length && *length > limit) {
          res = problem(Error(Code::body_too_large,
                              "the request body exceeds " + std::to_string(limit) + " bytes"));
          close = true;
        } else {
          bool read_ok = true;
          if (!parser.is_done()) {
            state->deadline = after(options.request_read_timeout_ms);
            auto [ec2, n2] = co_await bhttp::async_read(stream, buffer, parser, kTuple);
            if (ec2 == bhttp::error::body_limit || (!ec2 && parser.get().body().size() > limit)) {
              res = problem(Error(Code::body_too_large, "the request body is too large"));
              close = true;
              read_ok = false;
            } else if (ec2) {
              break;
            }
          }
          if (read_ok) {
            req.body = std::move(parser.get().body());
            state->deadline = Deadline::max();
            res = co_await handle(req, match);
          }
        }
      }
    }
    res.headers.emplace_back("X-Request-Id", req.request_id);
    if (res.content_type == "application/problem+json" && res.body.ends_with('}')) {
      // Every problem names its request, so a user's report can be matched to the log.
      res.body.pop_back();
      res.body += ",\"request_id\":\"" + req.request_id + "\"}";
    }

    if (close && !parser.is_done()) refused_body = true;
    bool keep_alive = !close && !ec && parser.get().keep_alive() && !stopping.load();
    unsigned minor = ec ? 1 : parser.get().version() % 10;
    std::size_t bytes = res.body.size();
    if (bodiless_status(res.status)) res.body.clear();
    std::string head = response_head(res, minor, keep_alive);
    std::array<asio::const_buffer, 2> out{asio::buffer(head), req.method == Method::head
                                                                  ? asio::const_buffer()
                                                                  : asio::buffer(res.body)};

    state->deadline = after(options.request_read_timeout_ms);
    auto [wec, wn] = co_await asio::async_write(stream, out, kTuple);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    router.observe(route, res.status, seconds);
    if (options.access_log)
      spdlog::info("access id={} remote={} method={} path={} route={} status={} dur_us={} bytes={}",
                   req.request_id, remote, method_name(req.method), req.path,
                   route ? route->pattern : "-", res.status,
                   static_cast<std::int64_t>(seconds * 1e6), bytes);
    if (wec || !keep_alive) break;
  }
  boost::system::error_code ignored;
  stream.shutdown(tcp::socket::shutdown_send, ignored);
  // Lingering close: a client still sending a body we refused (413) must get to read our
  // answer; closing with unread data would reset the connection and lose it. Discard what
  // arrives for a short while, bounded in time and bytes.
  if (refused_body) {
    std::array<char, 16 << 10> sink;
    std::size_t discarded = 0;
    state->deadline = after(options.lingering_close_ms);
    while (discarded < limits::lingering_close_bytes_max) {
      auto [lec, ln] = co_await stream.async_read_some(asio::buffer(sink), kTuple);
      if (lec) break;
      discarded += ln;
    }
  }
}

awaitable<void> Server::Impl::sweep(IoThread& thread) {
  // A few sweeps per shortest timeout, at most four a second: a deadline is kept to within
  // a quarter of its length, or 250 ms.
  auto shortest = std::min(
      {options.idle_timeout_ms, options.request_read_timeout_ms, options.lingering_close_ms});
  auto period = std::chrono::milliseconds(std::clamp<std::uint32_t>(shortest / 4, 10, 250));
  asio::steady_timer timer(*thread.ioc);
  for (;;) {
    timer.expires_after(period);
    auto [ec] = co_await timer.async_wait(kTuple);
    if (ec) co_return;
    auto now = std::chrono::steady_clock::now();
    for (SessionState* s : thread.sessions) {
      if (s->socket && s->deadline <= now) {
        s->deadline = Deadline::max();
        boost::system::error_code ignored;
        s->socket->close(ignored);  // the pending read or write fails; the session ends
      }
    }
  }
}

awaitable<void> Server::Impl::accept_loop() {
  for (;;) {
    IoThread& target = io_threads[next_context++ % io_threads.size()];
    auto [ec, socket] = co_await acceptor.async_accept(target.ioc->get_executor(), kTuple);
    if (ec) {
      if (stopping.load() || ec == asio::error::operation_aborted) co_return;
      spdlog::warn("accept failed: {}", ec.message());
      continue;
    }
    if (connections.load() >= limits::connections_max) {
      boost::system::error_code ignored;
      socket.close(ignored);
      continue;
    }
    socket.set_option(tcp::no_delay(true));
    connections.fetch_add(1);
    auto ex = socket.get_executor();
    asio::co_spawn(ex, session(std::move(socket), target), asio::detached);
  }
}

awaitable<void> Server::Impl::purge_loop() {
  for (;;) {
    const Clock* c = &clock;
    store.writer().submit(store::make_command(
        [c](store::Tx& tx) { return purge_expired_idempotency_keys(tx, *c).has_value(); },
        [](store::Outcome) {}));
    for (const auto& job : options.housekeeping)
      store.writer().submit(store::make_command(job, [](store::Outcome) {}));
    if (stopping.load()) co_return;
    purge_timer.expires_after(std::chrono::hours(1));
    auto [ec] = co_await purge_timer.async_wait(kTuple);
    if (ec || stopping.load()) co_return;
  }
}

awaitable<void> Server::Impl::watchdog() {
  asio::steady_timer timer(ioc);
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(limits::shutdown_grace_ms);
  for (;;) {
    {
      std::lock_guard lock(sessions_mutex);
      if (sessions.empty()) {
        // Nothing in flight: stop the loops even if some timer is still armed.
        stop_all();
        co_return;
      }
    }
    if (std::chrono::steady_clock::now() > deadline) {
      spdlog::warn("shutdown: grace period over, closing remaining connections");
      stop_all();
      co_return;
    }
    timer.expires_after(std::chrono::milliseconds(20));
    co_await timer.async_wait(kTuple);
  }
}

void Server::Impl::begin_shutdown() {
  if (stopping.exchange(true)) return;
  ready.store(false);
  asio::post(ioc, [this] {
    spdlog::info("shutdown: no longer accepting; finishing in-flight requests");
    boost::system::error_code ignored;
    acceptor.close(ignored);
    signals.cancel(ignored);
    purge_timer.cancel();
    {
      std::lock_guard lock(sessions_mutex);
      for (const auto& s : sessions)
        asio::post(s->executor, [s] {
          // Not the throwing form: the sweeper may have closed the socket already, its
          // session not yet resumed to see it.
          boost::system::error_code cancel_ec;
          if (s->socket && !s->busy) s->socket->cancel(cancel_ec);
        });
    }
    // co_spawn may run the watchdog inline, and it takes sessions_mutex: not under the lock.
    asio::co_spawn(ioc, watchdog(), asio::detached);
  });
}

Server::Server(ServerOptions options, Router& router, store::Store& store,
               const FieldCipher& cipher, const Clock& clock, metrics::Registry& registry)
    : impl_(std::make_unique<Impl>(std::move(options), router, store, cipher, clock, registry)) {}

Server::~Server() {
  impl_->cpu.join();
}

Result<std::uint16_t> Server::bind() {
  auto colon = impl_->options.listen.rfind(':');
  std::string host = impl_->options.listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  auto port = static_cast<std::uint16_t>(std::stoi(impl_->options.listen.substr(colon + 1)));
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) return fail(Code::validation_failed, "listen address " + host + " is not an IP address");
  tcp::endpoint ep(address, port);
  auto& a = impl_->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return fail(Code::unavailable,
                "cannot listen on " + impl_->options.listen + ": " + ec.message());
  return a.local_endpoint().port();
}

void Server::run() {
  Impl& s = *impl_;
  s.signals.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (!ec) {
      spdlog::info("received signal {}", sig);
      impl_->begin_shutdown();
    }
  });
  asio::co_spawn(s.ioc, s.accept_loop(), asio::detached);
  asio::co_spawn(s.ioc, s.purge_loop(), asio::detached);
  for (IoThread& t : s.io_threads) asio::co_spawn(*t.ioc, s.sweep(t), asio::detached);
  std::vector<std::thread> threads;
  for (auto& w : s.workers)
    threads.emplace_back([ctx = w.get()] {
      name_this_thread("jishi-io");
      ctx->run();
    });
  s.ioc.run();
  for (auto& t : threads) t.join();
}

void Server::stop() {
  impl_->begin_shutdown();
}

const std::atomic<bool>& Server::ready() const {
  return impl_->ready;
}

}  // namespace jishi::http
