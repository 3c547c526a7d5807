// Helpers every API handler uses: authentication, JSON bodies, paging parameters, and the
// conversion of module results into responses.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "api/services.h"
#include "core/currency.h"
#include "core/json_writer.h"
#include "core/result.h"
#include "http/message.h"
#include "identity/types.h"

namespace jishi::api {

// The caller behind the Authorization: Bearer header; unauthenticated when absent or invalid.
// Sets the request's idempotency scope to the caller.
Result<identity::Principal> authenticate(Services& s, http::Request& req);

// 403 forbidden with a reason.
http::Response forbidden(std::string_view why);
bool is_operator(const identity::Principal& p);
bool is_regulator(const identity::Principal& p);

// The body as JSON: requires Content-Type application/json, applies the JSON limits.
Result<boost::json::value> read_json(const http::Request& req);

struct PageParams {
  std::size_t limit;
  std::optional<std::int64_t> cursor;
};
Result<PageParams> read_page(const http::Request& req);

// A typed path id, or not_found.
Result<std::int64_t> path_id(const http::Request& req, std::string_view name);

// Marks a write that changes who may do what: the auth cache is emptied after its COMMIT.
http::Response invalidates_access(Services& s, http::Response r);
// The same for a change that affects one person only (their memberships, their sign-out).
http::Response invalidates_access_of(Services& s, UserId user, http::Response r);

http::Response ok_json(const boost::json::value& v, int status = 200);
// A write's JSON reply built once the write is durable, on an I/O thread
// (http::Response::render), so that rendering costs the writer's thread nothing. `build` must
// own everything it reads.
http::Response ok_json_later(std::function<boost::json::value()> build, int status = 200);
// The same with the JSON written as text by `build` (JsonWriter), for the hottest replies.
http::Response ok_json_text_later(std::function<std::string()> build, int status = 200);
// {"items":[...],"next_cursor":"..."|null}
boost::json::object page_json(boost::json::array items, std::optional<std::int64_t> next);

std::string time_json(std::int64_t unix_us);
// The text form of time_or_null, for JsonWriter replies (money's is write_money, core/money.h).
void write_time_or_null(JsonWriter& w, const std::optional<std::int64_t>& unix_us);
// Optional values as JSON, null when absent: text, a time (RFC 3339), an id (decimal text).
boost::json::value json_or_null(const std::optional<std::string>& v);
boost::json::value time_or_null(const std::optional<std::int64_t>& unix_us);
boost::json::value id_or_null(const std::optional<std::int64_t>& id);

// Maps a list of module values to a JSON array with f.
template <class List, class F>
boost::json::array to_array(const List& list, F f) {
  boost::json::array out;
  out.reserve(list.size());
  for (const auto& x : list) out.push_back(f(x));
  return out;
}

// A paged list: reads limit/cursor, runs fetch(conn, cursor, limit) on a read connection (it
// returns a Result of something with .items and .next_cursor), renders each item with to_json.
template <class Fetch, class ToJson>
http::Response list_response(Services& s, const http::Request& req, Fetch fetch, ToJson to_json) {
  auto page = read_page(req);
  if (!page) return http::problem(page.error());
  auto lease = s.store.reads().lease();
  auto list = fetch(*lease, page->cursor.value_or(0), page->limit);
  if (!list) return http::problem(list.error());
  return ok_json(page_json(to_array(list->items, to_json), list->next_cursor));
}

}  // namespace jishi::api

// In a handler: assign the value of a Result or return its error as problem+json.
#define API_ASSIGN(lhs, expr) API_ASSIGN_IMPL_(JISHI_CONCAT_(api_r_, __LINE__), lhs, expr)
#define API_ASSIGN_IMPL_(tmp, lhs, expr)                \
  auto tmp = (expr);                                    \
  if (!tmp) return ::jishi::http::problem(tmp.error()); \
  lhs = std::move(*tmp)
#define API_CHECK(expr)                                                               \
  do {                                                                                \
    if (auto api_c_ = (expr); !api_c_) return ::jishi::http::problem(api_c_.error()); \
  } while (0)
