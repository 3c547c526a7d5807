// Static files for the web UI (web/dist): correct Content-Type, ETag/If-None-Match, long-lived
// caching for content-hashed assets and no-cache for HTML; single-page-app fallback to the
// section's index.html (/, /seller, /admin). Never serves outside the root.
#pragma once

#include <optional>
#include <string>

#include "http/message.h"

namespace jishi::http {

std::string_view content_type_for(std::string_view path);
// nullopt when no file (and no fallback) matches.
std::optional<Response> serve_static(const std::string& root, std::string_view path,
                                     std::optional<std::string_view> if_none_match);

}  // namespace jishi::http
