// The blocking client over Beast: each call runs its own io_context on the calling thread.
#include "http/client.h"

#include <boost/asio.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <chrono>

// g++ 12 reports asio's coroutine frame delete as mismatched with its new (a known false
// positive, GCC bug 109224): the frame is allocated and freed by asio's own operators.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace jishi::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

struct Url {
  std::string host;
  std::string port = "80";
  std::string target = "/";
};

Result<Url> parse_url(std::string_view url) {
  constexpr std::string_view scheme = "http://";
  if (!url.starts_with(scheme))
    return fail(Code::validation_failed, "only http:// URLs are supported");
  url.remove_prefix(scheme.size());
  Url u;
  auto slash = url.find_first_of("/?");
  auto authority = url.substr(0, slash);
  if (slash != std::string_view::npos) {
    u.target = std::string(url.substr(slash));
    if (u.target[0] == '?') u.target.insert(0, "/");
  }
  auto colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(']') == std::string_view::npos) {
    u.port = std::string(authority.substr(colon + 1));
    authority = authority.substr(0, colon);
    int port = 0;
    auto [p, ec] = std::from_chars(u.port.data(), u.port.data() + u.port.size(), port);
    if (ec != std::errc{} || p != u.port.data() + u.port.size() || port <= 0 || port > 65535)
      return fail(Code::validation_failed, "bad port in URL");
  }
  if (authority.empty() || authority.find('@') != std::string_view::npos)
    return fail(Code::validation_failed, "bad host in URL");
  u.host = std::string(authority);
  return u;
}

asio::awaitable<Result<ClientResponse>> exchange(Url url, bhttp::request<bhttp::string_body> req,
                                                 ClientOptions options) {
  auto executor = co_await asio::this_coro::executor;
  tcp::resolver resolver(executor);
  auto [rerr, endpoints] = co_await resolver.async_resolve(url.host, url.port, kTuple);
  if (rerr) co_return fail(Code::unavailable, "cannot resolve " + url.host + ": " + rerr.message());
  beast::tcp_stream stream(executor);
  stream.expires_after(std::chrono::milliseconds(options.timeout_ms));
  auto [cerr, ep] = co_await stream.async_connect(endpoints, kTuple);
  (void)ep;
  if (cerr)
    co_return fail(Code::unavailable,
                   "cannot connect to " + url.host + ":" + url.port + ": " + cerr.message());
  auto [werr, wn] = co_await bhttp::async_write(stream, req, kTuple);
  (void)wn;
  if (werr) co_return fail(Code::unavailable, "sending the request failed: " + werr.message());
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(options.body_bytes_max);
  parser.header_limit(static_cast<std::uint32_t>(limits::request_header_bytes_max));
  auto [err, rn] = co_await bhttp::async_read(stream, buffer, parser, kTuple);
  (void)rn;
  if (err == bhttp::error::body_limit)
    co_return fail(Code::body_too_large, "the response body exceeds " +
                                             std::to_string(options.body_bytes_max) + " bytes");
  if (err) co_return fail(Code::unavailable, "reading the response failed: " + err.message());
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  auto& res = parser.get();
  ClientResponse out;
  out.status = static_cast<int>(res.result_int());
  out.content_type = std::string(res[bhttp::field::content_type]);
  out.body = std::move(res.body());
  co_return out;
}

Result<ClientResponse> run(std::string_view url_text, bhttp::verb verb, std::string body,
                           std::string_view content_type, const ClientOptions& options,
                           const Fields& headers = {}) {
  JISHI_ASSIGN_OR_RETURN(auto url, parse_url(url_text));
  bhttp::request<bhttp::string_body> req{verb, url.target, 11};
  req.set(bhttp::field::host, url.port == "80" ? url.host : url.host + ":" + url.port);
  req.set(bhttp::field::user_agent, "jishi");
  req.set(bhttp::field::connection, "close");
  for (const auto& [name, value] : headers) req.set(name, value);
  if (verb == bhttp::verb::post) {
    req.set(bhttp::field::content_type, content_type);
    req.body() = std::move(body);
    req.prepare_payload();
  }
  asio::io_context ioc(1);
  std::optional<Result<ClientResponse>> result;
  asio::co_spawn(ioc, exchange(std::move(url), std::move(req), options),
                 [&](std::exception_ptr e, Result<ClientResponse> r) {
                   if (e)
                     result = fail(Code::unavailable, "the HTTP exchange failed");
                   else
                     result = std::move(r);
                 });
  ioc.run();
  if (!result) return fail(Code::unavailable, "the HTTP exchange did not complete");
  return std::move(*result);
}

bool unreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

void encode_into(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : s) {
    if (unreserved(c)) {
      out += c;
    } else {
      auto b = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[b >> 4];
      out += kHex[b & 15];
    }
  }
}

}  // namespace

Result<ClientResponse> post_form(std::string_view url, const Fields& form,
                                 const ClientOptions& options) {
  return run(url, bhttp::verb::post, form_encode(form), "application/x-www-form-urlencoded",
             options);
}

Result<ClientResponse> post_json(std::string_view url, std::string body, const Fields& headers,
                                 const ClientOptions& options) {
  for (const auto& [name, value] : headers)
    if (name.find_first_of("\r\n:") != std::string::npos ||
        value.find_first_of("\r\n") != std::string::npos)
      return fail(Code::validation_failed, "bad header " + name);
  return run(url, bhttp::verb::post, std::move(body), "application/json", options, headers);
}

Result<ClientResponse> get(std::string_view url, const ClientOptions& options) {
  return run(url, bhttp::verb::get, {}, {}, options);
}

std::string form_encode(const Fields& form) {
  std::string out;
  for (const auto& [k, v] : form) {
    if (!out.empty()) out += '&';
    encode_into(out, k);
    out += '=';
    encode_into(out, v);
  }
  return out;
}

std::optional<Fields> parse_form(std::string_view body) {
  Fields out;
  while (!body.empty()) {
    auto amp = body.find('&');
    auto pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    std::string k(pair.substr(0, eq));
    std::string v(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
    for (auto* s : {&k, &v})
      for (auto& c : *s)
        if (c == '+') c = ' ';
    auto dk = percent_decode(k);
    auto dv = percent_decode(v);
    if (!dk || !dv) return std::nullopt;
    out.emplace_back(std::move(*dk), std::move(*dv));
  }
  return out;
}

}  // namespace jishi::http
