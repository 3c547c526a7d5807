#include "http/message.h"

#include <boost/beast/http/status.hpp>
#include <boost/json.hpp>
#include <charconv>

namespace jishi::http {

std::string_view method_name(Method m) {
  switch (m) {
    case Method::get:
      return "GET";
    case Method::head:
      return "HEAD";
    case Method::post:
      return "POST";
    case Method::put:
      return "PUT";
    case Method::patch:
      return "PATCH";
    case Method::delete_:
      return "DELETE";
    case Method::options:
      return "OPTIONS";
    case Method::other:
      return "OTHER";
  }
  return "OTHER";
}

Method parse_method(std::string_view n) {
  if (n == "GET") return Method::get;
  if (n == "HEAD") return Method::head;
  if (n == "POST") return Method::post;
  if (n == "PUT") return Method::put;
  if (n == "PATCH") return Method::patch;
  if (n == "DELETE") return Method::delete_;
  if (n == "OPTIONS") return Method::options;
  return Method::other;
}

std::optional<std::string_view> Request::header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers)
    if (k == lower_name) return std::string_view(v);
  return std::nullopt;
}

std::optional<std::string_view> Request::query_param(std::string_view name) const {
  for (const auto& [k, v] : query)
    if (k == name) return std::string_view(v);
  return std::nullopt;
}

std::string_view Request::param(std::string_view name) const {
  for (const auto& [k, v] : path_params)
    if (k == name) return v;
  return {};
}

Response json_response(int status, const boost::json::value& body) {
  Response r;
  r.status = status;
  r.body = boost::json::serialize(body);
  return r;
}

void render_now(Response& r) {
  if (!r.render) return;
  auto render = std::move(r.render);
  r.render = nullptr;
  render(r);
}

bool bodiless_status(int status) {
  return status < 200 || status == 204 || status == 304;
}

namespace {
bool token_char(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

void append_header(std::string& out, std::string_view name, std::string_view value) {
  if (name.empty()) return;
  for (char c : name)
    if (!token_char(static_cast<unsigned char>(c))) return;
  out.append(name).append(": ");
  std::size_t at = out.size();
  out.append(value);
  for (std::size_t i = at; i < out.size(); ++i)
    if (out[i] == '\r' || out[i] == '\n' || out[i] == '\0') out[i] = ' ';
  out.append("\r\n");
}
}  // namespace

std::string response_head(const Response& r, unsigned minor, bool keep_alive) {
  std::string out;
  out.reserve(160 + r.content_type.size() + r.headers.size() * 48);
  out.append(minor == 0 ? "HTTP/1.0 " : "HTTP/1.1 ");
  int status = r.status >= 100 && r.status <= 999 ? r.status : 500;
  char digits[3] = {static_cast<char>('0' + status / 100),
                    static_cast<char>('0' + status / 10 % 10),
                    static_cast<char>('0' + status % 10)};
  out.append(digits, 3).push_back(' ');
  auto reason =
      boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(status));
  out.append(reason.data(), reason.size()).append("\r\nServer: jishi\r\n");
  if (!r.content_type.empty()) append_header(out, "Content-Type", r.content_type);
  for (const auto& [name, value] : r.headers) append_header(out, name, value);
  if (!bodiless_status(status)) {
    char n[24];
    auto end = std::to_chars(n, n + sizeof n, r.body.size()).ptr;
    out.append("Content-Length: ").append(n, end).append("\r\n");
  }
  if (minor == 0 && keep_alive) out.append("Connection: keep-alive\r\n");
  if (minor != 0 && !keep_alive) out.append("Connection: close\r\n");
  out.append("\r\n");
  return out;
}

Response no_content() {
  Response r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

Response problem(const Error& error, std::string_view instance) {
  boost::json::object o;
  o["type"] = "https://jishi.dev/problems/" + std::string(code_name(error.code));
  o["title"] = code_title(error.code);
  o["status"] = http_status(error.code);
  o["detail"] = error.detail.empty() ? std::string(code_title(error.code)) : error.detail;
  o["code"] = code_name(error.code);
  if (!error.field.empty()) o["field"] = error.field;
  if (!instance.empty()) o["instance"] = instance;
  Response r;
  r.status = http_status(error.code);
  r.content_type = "application/problem+json";
  r.body = boost::json::serialize(o);
  return r;
}

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    auto hexval = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

bool parse_target(std::string_view target, std::string& path, Fields& query) {
  auto q = target.find('?');
  auto raw_path = target.substr(0, q);
  if (raw_path.empty() || raw_path[0] != '/') return false;
  path = std::string(raw_path);
  if (q == std::string_view::npos) return true;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    std::string key_raw(pair.substr(0, eq));
    std::string val_raw(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    for (auto& c : key_raw)
      if (c == '+') c = ' ';
    for (auto& c : val_raw)
      if (c == '+') c = ' ';
    auto k = percent_decode(key_raw);
    auto v = percent_decode(val_raw);
    if (!k || !v) return false;
    query.emplace_back(std::move(*k), std::move(*v));
  }
  return true;
}

}  // namespace jishi::http
