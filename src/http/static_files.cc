#include "http/static_files.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "core/limits.h"

namespace jishi::http {

std::string_view content_type_for(std::string_view path) {
  auto dot = path.rfind('.');
  std::string_view ext = dot == std::string_view::npos ? "" : path.substr(dot + 1);
  if (ext == "html") return "text/html; charset=utf-8";
  if (ext == "js" || ext == "mjs") return "text/javascript; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "json" || ext == "map") return "application/json";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "png") return "image/png";
  if (ext == "jpg" || ext == "jpeg") return "image/jpeg";
  if (ext == "webp") return "image/webp";
  if (ext == "gif") return "image/gif";
  if (ext == "ico") return "image/x-icon";
  if (ext == "woff2") return "font/woff2";
  if (ext == "woff") return "font/woff";
  if (ext == "txt") return "text/plain; charset=utf-8";
  if (ext == "wasm") return "application/wasm";
  return "application/octet-stream";
}

namespace {
bool safe_path(std::string_view p) {
  if (p.find("..") != std::string_view::npos || p.find('\\') != std::string_view::npos ||
      p.find('\0') != std::string_view::npos)
    return false;
  return true;
}

std::optional<Response> file_response(const std::string& full, std::string_view rel,
                                      std::optional<std::string_view> if_none_match) {
  struct stat st {};
  if (::stat(full.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  // Whole-file responses only; bundles are far below this.
  if (static_cast<std::size_t>(st.st_size) > 64 * limits::request_body_bytes_max)
    return std::nullopt;
  std::string etag = "\"" + std::to_string(st.st_size) + "-" + std::to_string(st.st_mtime) + "\"";
  Response r;
  r.content_type = std::string(content_type_for(rel));
  bool hashed = rel.find("/assets/") != std::string_view::npos || rel.starts_with("assets/");
  r.headers.emplace_back("Cache-Control",
                         hashed ? "public, max-age=31536000, immutable" : "no-cache");
  r.headers.emplace_back("ETag", etag);
  if (if_none_match && *if_none_match == etag) {
    r.status = 304;
    return r;
  }
  std::ifstream in(full, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  r.body = ss.str();
  return r;
}
}  // namespace

std::optional<Response> serve_static(const std::string& root, std::string_view path,
                                     std::optional<std::string_view> if_none_match) {
  if (root.empty() || !safe_path(path)) return std::nullopt;
  std::string rel(path.substr(1));
  if (rel.empty() || rel.back() == '/') rel += "index.html";
  if (auto r = file_response(root + "/" + rel, rel, if_none_match)) return r;
  // Client-side routes (no extension): the section's index.html.
  auto last_slash = rel.rfind('/');
  std::string_view leaf = last_slash == std::string::npos
                              ? std::string_view(rel)
                              : std::string_view(rel).substr(last_slash + 1);
  if (leaf.find('.') != std::string_view::npos) return std::nullopt;
  for (std::string_view section : {"seller", "admin"}) {
    if (rel == section || rel.starts_with(std::string(section) + "/"))
      return file_response(root + "/" + std::string(section) + "/index.html", "index.html",
                           if_none_match);
  }
  return file_response(root + "/index.html", "index.html", if_none_match);
}

}  // namespace jishi::http
