// The server's connection deadlines, on a real socket: an idle keep-alive connection, a
// request whose body stalls, and a handler slower than every timeout.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "http/test_server.h"

namespace jishi::http {
namespace {

using Clock = std::chrono::steady_clock;

// A blocking client socket whose reads give up after `give_up` (so a server that never
// closes fails the test instead of hanging it).
class Conn {
 public:
  Conn(std::uint16_t port, std::chrono::milliseconds give_up) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    timeval tv{static_cast<time_t>(give_up.count() / 1000),
               static_cast<suseconds_t>(give_up.count() % 1000 * 1000)};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~Conn() { ::close(fd_); }
  bool connected() const { return connected_; }
  void send(std::string_view s) {
    ASSERT_EQ(::send(fd_, s.data(), s.size(), 0), ssize_t(s.size()));
  }
  // Reads until the peer closes (returns what came, closed = true) or the read gives up.
  std::string read_until_closed(bool& closed) {
    std::string out;
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n > 0) {
        out.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      closed = n == 0 || errno == ECONNRESET;
      return out;
    }
  }
  // Reads one response whose body ends with `tail`.
  std::string read_response(std::string_view tail) {
    std::string out;
    char buf[4096];
    while (!out.ends_with(tail)) {
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

class ServerDeadlineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server.options.idle_timeout_ms = 400;
    server.options.request_read_timeout_ms = 400;
    server.options.lingering_close_ms = 400;
    server.router.add(Method::get, "/ping", [](Request&) -> Reply {
      Response r;
      r.content_type = "text/plain";
      r.body = "pong";
      return r;
    });
    server.router.add(Method::post, "/slow", [](Request& req) -> Reply {
      std::string body = req.body;
      return Reply::on_cpu([body] {
        std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // 3 timeouts long
        Response r;
        r.content_type = "text/plain";
        r.body = "slept:" + body;
        return Reply(std::move(r));
      });
    });
    server.start();
  }
  testing::TestServer server;
};

TEST_F(ServerDeadlineTest, ClosesAnIdleConnectionAfterTheIdleTimeout) {
  Conn c(server.port, std::chrono::milliseconds(5000));
  ASSERT_TRUE(c.connected());
  auto t0 = Clock::now();
  bool closed = false;
  EXPECT_EQ(c.read_until_closed(closed), "");
  auto waited = Clock::now() - t0;
  EXPECT_TRUE(closed) << "the server kept an idle connection past its timeout";
  EXPECT_GE(waited, std::chrono::milliseconds(350));
  EXPECT_LT(waited, std::chrono::milliseconds(3000));
}

TEST_F(ServerDeadlineTest, EveryRequestStartsTheIdleTimeoutAgain) {
  Conn c(server.port, std::chrono::milliseconds(5000));
  ASSERT_TRUE(c.connected());
  // Eight requests 200 ms apart: 1.6 s on one connection whose idle timeout is 0.4 s.
  for (int i = 0; i < 8; ++i) {
    c.send("GET /ping HTTP/1.1\r\nHost: t\r\n\r\n");
    std::string r = c.read_response("pong");
    ASSERT_TRUE(r.starts_with("HTTP/1.1 200")) << i << ": " << r;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

TEST_F(ServerDeadlineTest, ClosesARequestWhoseBodyStalls) {
  Conn c(server.port, std::chrono::milliseconds(5000));
  ASSERT_TRUE(c.connected());
  c.send(
      "POST /slow HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: "
      "10\r\n\r\nabc");
  auto t0 = Clock::now();
  bool closed = false;
  std::string got = c.read_until_closed(closed);
  EXPECT_TRUE(closed) << "a body that never finishes must not hold the connection";
  EXPECT_EQ(got, "");  // the handler never ran
  EXPECT_LT(Clock::now() - t0, std::chrono::milliseconds(3000));
}

TEST_F(ServerDeadlineTest, AHandlerSlowerThanTheTimeoutsStillAnswers) {
  Conn c(server.port, std::chrono::milliseconds(5000));
  ASSERT_TRUE(c.connected());
  c.send(
      "POST /slow HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok");
  std::string r = c.read_response("slept:ok");
  EXPECT_TRUE(r.starts_with("HTTP/1.1 200")) << r;
  EXPECT_TRUE(r.ends_with("slept:ok")) << r;
  // And the connection lives on for another request.
  c.send("GET /ping HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_TRUE(c.read_response("pong").ends_with("pong"));
}

}  // namespace
}  // namespace jishi::http
