// Router and static files for the lws transport (see router.h). Loop thread.
#include "transport/lws/router.h"

#include <algorithm>

#include <fstream>
#include <iterator>
#include <system_error>

#include "realtime/json.h"

namespace realtime::lws_detail {
namespace {

constexpr std::uintmax_t kMaxStaticFile = 64u << 20;

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (start < path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (end > start) out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

bool is_param(std::string_view seg) { return seg.size() >= 2 && seg.front() == '{' && seg.back() == '}'; }

}  // namespace

HttpResponse error_response(int status, std::string_view code, std::string_view message) {
  HttpResponse r;
  r.status = status;
  r.body = Json::object({{"error", Json::object({{"code", Json(code)}, {"message", Json(message)}})}}).dump();
  return r;
}

void Router::add_route(std::string method, std::string_view pattern, HttpHandler handler, RouteOptions options) {
  Route r{std::move(method), {}, std::move(handler), std::move(options)};
  for (auto seg : split_path(pattern)) r.segments.emplace_back(seg);
  routes_.push_back(std::move(r));
}

Router::Match Router::match(std::string_view method, std::string_view path) const {
  Match m;
  auto segs = split_path(path);
  for (const auto& r : routes_) {
    if (r.segments.size() != segs.size()) continue;
    std::map<std::string, std::string, std::less<>> params;
    bool ok = true;
    for (std::size_t i = 0; i < segs.size() && ok; ++i) {
      const auto& want = r.segments[i];
      if (is_param(want)) {
        params[want.substr(1, want.size() - 2)] = std::string(segs[i]);
      } else {
        ok = want == segs[i];
      }
    }
    if (!ok) continue;
    m.path_known = true;
    if (r.method == method) {
      m.handler = &r.handler;
      m.options = &r.options;
      m.params = std::move(params);
      return m;
    }
    if (!m.allow.empty()) m.allow += ", ";
    m.allow += r.method;
  }
  return m;
}

Status Router::add_static(std::string url_prefix, const std::string& dir) {
  std::error_code ec;
  auto root = std::filesystem::canonical(dir, ec);
  if (ec || !std::filesystem::is_directory(root, ec))
    return Status::not_found("static directory not found: " + dir);
  if (url_prefix.empty() || url_prefix.back() != '/') url_prefix.push_back('/');
  mounts_.push_back({std::move(url_prefix), std::move(root)});
  return {};
}

std::optional<std::filesystem::path> resolve_below(const std::filesystem::path& root, std::string_view rest) {
  if (rest.find('\0') != std::string_view::npos || rest.find('\\') != std::string_view::npos)
    return std::nullopt;
  std::filesystem::path p = root;
  for (auto seg : split_path(rest)) {
    if (seg == ".." || seg == ".") return std::nullopt;
    p /= std::string(seg);
  }
  std::error_code ec;
  if (std::filesystem::is_directory(p, ec)) p /= "index.html";
  auto real = std::filesystem::canonical(p, ec);
  if (ec) return std::nullopt;
  // Symlinks may still point outside: compare the resolved prefix.
  auto r = real.begin();
  for (auto it = root.begin(); it != root.end(); ++it, ++r) {
    if (r == real.end() || *r != *it) return std::nullopt;
  }
  if (!std::filesystem::is_regular_file(real, ec)) return std::nullopt;
  return real;
}

namespace {
bool mounted_at(std::string_view prefix, std::string_view path) {
  std::string_view bare = prefix.substr(0, prefix.size() - 1);
  return path == bare || path.substr(0, prefix.size()) == prefix;
}
}  // namespace

bool Router::under_static(std::string_view path) const {
  return std::any_of(mounts_.begin(), mounts_.end(), [&](const Mount& m) { return mounted_at(m.prefix, path); });
}

std::optional<HttpResponse> Router::serve_static(std::string_view method, std::string_view path) const {
  for (const auto& m : mounts_) {
    std::string_view bare(m.prefix.data(), m.prefix.size() - 1);
    if (!mounted_at(m.prefix, path)) continue;
    if (method != "GET" && method != "HEAD") {
      auto r = error_response(405, "bad_request", "method not allowed");
      r.headers["allow"] = "GET, HEAD";
      return r;
    }
    std::string_view rest = path.size() > bare.size() ? path.substr(bare.size()) : std::string_view();
    auto file = resolve_below(m.root, rest);
    std::error_code ec;
    if (!file || std::filesystem::file_size(*file, ec) > kMaxStaticFile || ec) {
      return error_response(404, "not_found", "no such file");
    }
    std::ifstream in(*file, std::ios::binary);
    if (!in) return error_response(404, "not_found", "no such file");
    HttpResponse r;
    r.content_type = std::string(mime_type(file->filename().string()));
    r.body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return r;
  }
  return std::nullopt;
}

std::string_view mime_type(std::string_view path) {
  static const std::map<std::string_view, std::string_view, std::less<>> kTypes = {
      {".html", "text/html; charset=utf-8"},
      {".htm", "text/html; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".txt", "text/plain; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},
      {".webp", "image/webp"},
      {".ico", "image/x-icon"},
      {".wasm", "application/wasm"},
      {".woff2", "font/woff2"},
      {".woff", "font/woff"},
  };
  auto dot = path.rfind('.');
  if (dot != std::string_view::npos) {
    auto it = kTypes.find(path.substr(dot));
    if (it != kTypes.end()) return it->second;
  }
  return "application/octet-stream";
}

}  // namespace realtime::lws_detail
