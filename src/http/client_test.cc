#include "http/client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include "http/test_server.h"

namespace jishi::http {
namespace {

TEST(Form, EncodesAndParsesBackUtf8AndReservedCharacters) {
  Fields form{{"subject", "茶叶 & 杯=1+1"}, {"biz_content", R"({"a":"b c"})"}, {"empty", ""}};
  auto body = form_encode(form);
  EXPECT_EQ(body.find(' '), std::string::npos);
  EXPECT_EQ(body.find("&subject=") != std::string::npos || body.find("&biz") != std::string::npos,
            true);
  auto back = parse_form(body);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, form);
  EXPECT_EQ(parse_form("a=x+y&b=%E8%8C%B6"), (Fields{{"a", "x y"}, {"b", "茶"}}));
  EXPECT_FALSE(parse_form("a=%ZZ"));
}

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server.router.add(Method::post, "/echo", [](Request& req) -> Reply {
      Response r;
      r.content_type = "text/plain";
      r.body = std::string(req.header("content-type").value_or("")) + "|" + req.body;
      return r;
    });
    server.router.add(Method::get, "/big", [](Request&) -> Reply {
      Response r;
      r.content_type = "text/plain";
      r.body = std::string(4096, 'x');
      return r;
    });
    server.start();
  }
  testing::TestServer server;
};

TEST_F(ClientTest, PostsAFormAndReadsTheAnswer) {
  auto r = post_form(server.url + "/echo", {{"a", "1 2"}, {"b", "茶"}});
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->content_type, "text/plain");
  EXPECT_EQ(r->body, "application/x-www-form-urlencoded|a=1%202&b=%E8%8C%B6");
}

TEST_F(ClientTest, ErrorStatusesAreAnswersNotFailures) {
  auto r = get(server.url + "/missing?x=1");
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_EQ(r->status, 404);
  EXPECT_NE(r->body.find("not_found"), std::string::npos);
}

TEST_F(ClientTest, ABodyOverTheLimitIsRefused) {
  ClientOptions small;
  small.body_bytes_max = 1024;
  auto r = get(server.url + "/big", small);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::body_too_large);
  auto ok = get(server.url + "/big");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->body.size(), 4096u);
}

TEST(Client, ASilentServerTimesOut) {
  // A listening socket nobody accepts on: the connection completes (backlog), no answer comes.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ClientOptions quick;
  quick.timeout_ms = 300;
  auto start = std::chrono::steady_clock::now();
  auto r = post_form("http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/x",
                     {{"a", "1"}}, quick);
  auto took = std::chrono::steady_clock::now() - start;
  ::close(fd);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::unavailable);
  EXPECT_GE(took, std::chrono::milliseconds(250));
  EXPECT_LT(took, std::chrono::seconds(5));
}

TEST(Client, RefusedConnectionsAndBadUrlsAreErrors) {
  // Port 1 on loopback: nothing listens there.
  auto r = get("http://127.0.0.1:1/");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::unavailable);
  for (auto url :
       {"https://example.com/", "ftp://x/", "http://", "http://host:99999/", "http://user@host/"}) {
    auto bad = get(url);
    ASSERT_FALSE(bad) << url;
    EXPECT_EQ(bad.error().code, Code::validation_failed) << url;
  }
}

}  // namespace
}  // namespace jishi::http
