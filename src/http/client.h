// A small blocking HTTP/1.1 client for server-to-server calls (the platform calling a payment
// gateway, the gateway simulator notifying the platform). http:// only, one request per
// connection, an overall deadline and a response body limit. Beast stays inside client.cc.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/limits.h"
#include "core/result.h"
#include "http/message.h"

namespace jishi::http {

struct ClientOptions {
  // The whole exchange (connect, send, receive) must finish within this time.
  std::uint32_t timeout_ms = limits::http_client_timeout_ms;
  std::size_t body_bytes_max = limits::http_client_body_bytes_max;
};

struct ClientResponse {
  int status = 0;
  std::string content_type;
  std::string body;
};

// Any answer from the server, whatever its status, is a response. Failures: validation_failed
// (the URL is not http://host[:port]/path), unavailable (cannot resolve or connect, timeout,
// broken connection or malformed answer), body_too_large (the body exceeds the limit).
Result<ClientResponse> post_form(std::string_view url, const Fields& form,
                                 const ClientOptions& options = {});
Result<ClientResponse> get(std::string_view url, const ClientOptions& options = {});
// POSTs a JSON body with extra headers (webhook deliveries: signature, event id).
Result<ClientResponse> post_json(std::string_view url, std::string body, const Fields& headers,
                                 const ClientOptions& options = {});

// application/x-www-form-urlencoded: k=v pairs joined by '&', RFC 3986 unreserved characters
// kept, everything else percent-encoded (spaces as %20).
std::string form_encode(const Fields& form);
// Parses a form body ('+' is a space); nullopt on malformed escapes.
std::optional<Fields> parse_form(std::string_view body);

}  // namespace jishi::http
