// Beast-free HTTP types that handlers see: a parsed Request, a Response, and the Reply a
// handler returns — an immediate response, a write to run in the writer's transaction, or
// CPU-heavy work (password hashing) to run on the CPU pool before the next step.
#pragma once

#include <boost/json/fwd.hpp>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/error.h"
#include "store/database.h"

namespace jishi::http {

enum class Method { get, head, post, put, patch, delete_, options, other };
std::string_view method_name(Method m);
Method parse_method(std::string_view name);

using Fields = std::vector<std::pair<std::string, std::string>>;

struct Request {
  Method method = Method::get;
  std::string target;  // as received: path and query
  std::string path;    // without the query
  Fields query;        // percent-decoded
  Fields headers;      // names lower-cased
  std::string body;
  std::string remote_address;
  std::string request_id;
  std::vector<std::pair<std::string, std::string>> path_params;
  // Who sent it, for scoping idempotency keys: "user:<id>", "org:<id>" or "anon". Set by the
  // authentication step of a handler.
  std::string idempotency_scope = "anon";

  std::optional<std::string_view> header(std::string_view lower_name) const;
  std::optional<std::string_view> query_param(std::string_view name) const;
  std::string_view param(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  Fields headers;
  // A write step answering with an error normally rolls its writes back; set this when the
  // writes must stand anyway (a failed login still counts towards the lock-out).
  bool keep_writes = false;
  // Runs on the writer's thread right after this write's COMMIT (never when it did not
  // commit): for invalidating caches. Must be quick and must not block.
  std::function<void()> on_committed;
  // Fills in this response (usually its body) from values the write step captured. It runs on
  // an I/O thread once the write is durable, so rendering stays off the writer's thread; it is
  // dropped when the write did not commit. A write under an Idempotency-Key renders at once in
  // the writer, since its body is stored with the key.
  std::function<void(Response&)> render;
};

// Runs and clears r.render, if set.
void render_now(Response& r);

// The status line and header block of r as the server sends it (HTTP/1.`minor`), ending in the
// blank line; the body follows as it is. Server, Content-Type, r.headers, Content-Length (the
// body's size, also for HEAD; none for 1xx, 204 and 304) and Connection when it differs from
// the version's default. A header name that is not an RFC 9110 token is left out, and CR, LF
// and NUL in a value become spaces, so no value can start a header of its own. (Written here
// rather than by Beast's serializer, whose buffer iterators cost ~20,000 instructions a
// response, as much as the checkout's reply JSON.)
std::string response_head(const Response& r, unsigned minor, bool keep_alive);
// Whether a response with this status carries no body (1xx, 204, 304).
bool bodiless_status(int status);

Response json_response(int status, const boost::json::value& body);
Response no_content();
// RFC 9457 problem+json: type, title, status, detail, code (+ field, instance). The server
// adds request_id to every problem it sends.
Response problem(const Error& error, std::string_view instance = {});

struct Reply;
// A write: runs on the writer's thread inside the batch transaction. A status >= 400 rolls
// this command's writes back; the response is sent either way once the batch is durable.
using TxStep = std::function<Response(store::Tx&)>;
// Work run on the CPU pool; returns the next step.
using CpuStep = std::function<Reply()>;

struct Reply {
  std::variant<Response, TxStep, CpuStep> step;

  Reply() : step(Response{}) {}
  Reply(Response r) : step(std::move(r)) {}    // NOLINT
  Reply(const Error& e) : step(problem(e)) {}  // NOLINT
  static Reply write(TxStep s) {
    Reply r{Response{}};
    r.step = std::move(s);
    return r;
  }
  static Reply on_cpu(CpuStep s) {
    Reply r{Response{}};
    r.step = std::move(s);
    return r;
  }
};

// Percent-decodes a URL component (parse_target turns '+' into ' ' first, as forms do);
// nullopt on malformed escapes.
std::optional<std::string> percent_decode(std::string_view s);
// Splits "path?query" into the path and decoded parameters; nullopt when malformed.
bool parse_target(std::string_view target, std::string& path, Fields& query);

}  // namespace jishi::http
