#include "http/message.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "http/idempotency.h"
#include "http/static_files.h"

namespace jishi::http {
namespace {

TEST(Message, ParsesTargetsAndDecodesQueries) {
  std::string path;
  Fields q;
  ASSERT_TRUE(parse_target("/api/v1/products?q=%E9%9E%8B&sort=price+asc&x", path, q));
  EXPECT_EQ(path, "/api/v1/products");
  ASSERT_EQ(q.size(), 3u);
  EXPECT_EQ(q[0].second, "鞋");
  EXPECT_EQ(q[1].second, "price asc");
  EXPECT_EQ(q[2].second, "");
  Fields bad;
  EXPECT_FALSE(parse_target("/a?q=%zz", path, bad));
  EXPECT_FALSE(parse_target("a", path, bad));
}

TEST(Message, ProblemsFollowRfc9457WithAStableCode) {
  Response r = problem(Error(Code::validation_failed, "name is required", "/name"), "/api/v1/orgs");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.content_type, "application/problem+json");
  auto v = boost::json::parse(r.body).as_object();
  EXPECT_EQ(v["code"], "validation_failed");
  EXPECT_EQ(v["status"], 400);
  EXPECT_EQ(v["detail"], "name is required");
  EXPECT_EQ(v["field"], "/name");
  EXPECT_TRUE(v.contains("type"));
  EXPECT_TRUE(v.contains("title"));
}

// The head the server sends: status line, Server, Content-Type, the response's own headers,
// Content-Length, Connection only where it differs from the version's default.
TEST(Message, ResponseHeadsFollowTheVersionAndNeverSplit) {
  Response r;
  r.status = 201;
  r.body = "{\"id\":\"7\"}";
  r.headers = {{"Location", "/api/v1/x/7"},
               {"X-Request-Id", "a\r\nSet-Cookie: s=1"},
               {"Bad Name", "v"},
               {"", "v"},
               {"Retry-After", "3"}};
  EXPECT_EQ(response_head(r, 1, true),
            "HTTP/1.1 201 Created\r\nServer: jishi\r\nContent-Type: application/json\r\n"
            "Location: /api/v1/x/7\r\nX-Request-Id: a  Set-Cookie: s=1\r\nRetry-After: 3\r\n"
            "Content-Length: 10\r\n\r\n");
  Response small;
  small.content_type.clear();
  EXPECT_EQ(response_head(small, 1, false),
            "HTTP/1.1 200 OK\r\nServer: jishi\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(response_head(small, 0, true),
            "HTTP/1.0 200 OK\r\nServer: jishi\r\nContent-Length: 0\r\n"
            "Connection: keep-alive\r\n\r\n");
  EXPECT_EQ(response_head(small, 0, false),
            "HTTP/1.0 200 OK\r\nServer: jishi\r\nContent-Length: 0\r\n\r\n");
  for (int status : {204, 304, 101}) {
    small.status = status;
    EXPECT_EQ(response_head(small, 1, true).find("Content-Length"), std::string::npos) << status;
  }
  small.status = 429;
  EXPECT_EQ(response_head(small, 1, true).substr(0, 30), "HTTP/1.1 429 Too Many Requests");
}

TEST(Idempotency, KeysMustBeShortVisibleAscii) {
  EXPECT_TRUE(validate_idempotency_key("order-2026-11-28-0001"));
  EXPECT_FALSE(validate_idempotency_key(""));
  EXPECT_FALSE(validate_idempotency_key("has space"));
  EXPECT_FALSE(validate_idempotency_key(std::string(256, 'k')));
}

TEST(Idempotency, FingerprintCoversMethodTargetAndBody) {
  auto cipher = FieldCipher::from_keys("k", std::string(32, 'k'), std::string(32, 'l'));
  auto other = FieldCipher::from_keys("k", std::string(32, 'm'), std::string(32, 'n'));
  Request a;
  a.method = Method::post;
  a.target = "/api/v1/orgs";
  a.body = "{}";
  Request b = a;
  EXPECT_EQ(request_fingerprint(cipher, a), request_fingerprint(cipher, b));
  b.body = "{ }";
  EXPECT_NE(request_fingerprint(cipher, a), request_fingerprint(cipher, b));
  b = a;
  b.target = "/api/v1/orgs/1/approve";
  EXPECT_NE(request_fingerprint(cipher, a), request_fingerprint(cipher, b));
  // Keyed: without the server's key the fingerprint of a guessed body cannot be computed.
  EXPECT_NE(request_fingerprint(cipher, a), request_fingerprint(other, a));
}

TEST(StaticFiles, RefusesTraversalAndTypesFiles) {
  EXPECT_FALSE(serve_static("/etc", "/../etc/passwd", std::nullopt));
  EXPECT_EQ(content_type_for("a/b.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(content_type_for("x.svg"), "image/svg+xml");
  EXPECT_EQ(content_type_for("noext"), "application/octet-stream");
}

}  // namespace
}  // namespace jishi::http
