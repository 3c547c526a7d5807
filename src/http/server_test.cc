// The server's connection deadlines, on a real socket: an idle keep-alive connection, a
// request whose body stalls, a client that stops reading its answer, a refused upload drained
// for a while, and a handler slower than every timeout. The three timeouts differ, so a
// deadline taken from the wrong one shows.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
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
  // False once the peer has gone (MSG_NOSIGNAL: an error, not a SIGPIPE).
  bool send(std::string_view s) {
    return ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
  }
  // Reads until the peer closes (returns what came, closed = true) or the read gives up.
  std::string read_until_closed(bool& closed) {
    std::string out;
    char buf[65536];
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
  static constexpr std::size_t kBig = 64u << 20;  // more than loopback's socket buffers hold

  void SetUp() override {
    server.options.idle_timeout_ms = 300;
    server.options.request_read_timeout_ms = 1500;  // a body's read, a response's write
    server.options.lingering_close_ms = 400;
    server.router.add(Method::get, "/ping", [](Request&) -> Reply {
      Response r;
      r.content_type = "text/plain";
      r.body = "pong";
      return r;
    });
    server.router.add(Method::get, "/big", [](Request&) -> Reply {
      Response r;
      r.content_type = "application/octet-stream";
      r.body = std::string(kBig, 'x');
      return r;
    });
    RouteOptions small;
    small.body_bytes_max = 1024;
    server.router.add(
        Method::post, "/small", [](Request&) -> Reply { return Response{}; }, small);
    server.router.add(Method::post, "/slow", [](Request& req) -> Reply {
      std::string body = req.body;
      return Reply::on_cpu([body] {
        std::this_thread::sleep_for(std::chrono::milliseconds(2000));  // past every timeout
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
  EXPECT_GE(waited, std::chrono::milliseconds(250));
  EXPECT_LT(waited, std::chrono::milliseconds(1200));
}

TEST_F(ServerDeadlineTest, EveryRequestStartsTheIdleTimeoutAgain) {
  Conn c(server.port, std::chrono::milliseconds(5000));
  ASSERT_TRUE(c.connected());
  // Eight requests 200 ms apart: 1.6 s on one connection whose idle timeout is 0.3 s.
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(c.send("GET /ping HTTP/1.1\r\nHost: t\r\n\r\n"));
    std::string r = c.read_response("pong");
    ASSERT_TRUE(r.starts_with("HTTP/1.1 200")) << i << ": " << r;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

TEST_F(ServerDeadlineTest, ClosesARequestWhoseBodyStalls) {
  Conn c(server.port, std::chrono::milliseconds(5000));
  ASSERT_TRUE(c.connected());
  auto t0 = Clock::now();
  ASSERT_TRUE(c.send(
      "POST /slow HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\n"
      "abc"));
  bool closed = false;
  std::string got = c.read_until_closed(closed);
  auto waited = Clock::now() - t0;
  EXPECT_TRUE(closed) << "a body that never finishes must not hold the connection";
  EXPECT_EQ(got, "");  // the handler never ran
  // The body's own timeout (1.5 s), not the idle one (0.3 s) that covered the head.
  EXPECT_GE(waited, std::chrono::milliseconds(1400));
  EXPECT_LT(waited, std::chrono::milliseconds(4000));
}

TEST_F(ServerDeadlineTest, ClosesAConnectionWhoseClientStopsReadingTheAnswer) {
  Conn c(server.port, std::chrono::milliseconds(3000));
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send("GET /big HTTP/1.1\r\nHost: t\r\n\r\n"));
  // Read nothing for longer than the write's timeout (1.5 s): the server's write stalls once
  // the socket buffers are full, and the sweeper must close the connection then.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  bool closed = false;
  std::string got = c.read_until_closed(closed);
  EXPECT_TRUE(closed);
  EXPECT_LT(got.size(), kBig) << "the whole answer came: the write was never cut off";
}

TEST_F(ServerDeadlineTest, DrainsARefusedUploadForTheLingeringTimeOnly) {
  Conn c(server.port, std::chrono::milliseconds(3000));
  ASSERT_TRUE(c.connected());
  std::string chunk(1024, 'u');
  ASSERT_TRUE(
      c.send("POST /small HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: "
             "100000000\r\n\r\n" +
             chunk));
  std::string answer = c.read_response("}");
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 413")) << answer;
  // The server drains what we keep sending for 0.4 s, then closes: our sends start to fail.
  auto t0 = Clock::now();
  bool failed = false;
  while (Clock::now() - t0 < std::chrono::milliseconds(3000)) {
    if (!c.send(chunk)) {
      failed = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto waited = Clock::now() - t0;
  EXPECT_TRUE(failed) << "the refused upload was drained for ever";
  EXPECT_GE(waited, std::chrono::milliseconds(250));
  // Its own 0.4 s, not the 1.5 s of the write before it.
  EXPECT_LT(waited, std::chrono::milliseconds(1300));
}

TEST_F(ServerDeadlineTest, AHandlerSlowerThanTheTimeoutsStillAnswers) {
  Conn c(server.port, std::chrono::milliseconds(5000));
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send(
      "POST /slow HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n"
      "ok"));
  std::string r = c.read_response("slept:ok");
  EXPECT_TRUE(r.starts_with("HTTP/1.1 200")) << r;
  EXPECT_TRUE(r.ends_with("slept:ok")) << r;
  // And the connection lives on for another request.
  ASSERT_TRUE(c.send("GET /ping HTTP/1.1\r\nHost: t\r\n\r\n"));
  EXPECT_TRUE(c.read_response("pong").ends_with("pong"));
}

}  // namespace
}  // namespace jishi::http
