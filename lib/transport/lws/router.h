// Router: the plain-HTTP side of the lws transport. Matches a method and
// path against registered patterns ("/api/rooms/{id}") and serves static
// files from mounted directories without letting a path escape them.
//
// Pure apart from reading files. Kept free of libwebsockets so tests can
// drive it directly.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "realtime/lws_transport.h"

namespace realtime::lws_detail {

class Router {
 public:
  struct Match {
    const HttpHandler* handler = nullptr;  // null: no route for this method
    const RouteOptions* options = nullptr;  // the matched route's, with handler
    std::map<std::string, std::string, std::less<>> params;
    bool path_known = false;  // some route has this path (so 405, not 404)
    std::string allow;        // "GET, POST" for a 405
  };

  void add_route(std::string method, std::string_view pattern, HttpHandler handler, RouteOptions options = {});
  Match match(std::string_view method, std::string_view path) const;

  Status add_static(std::string url_prefix, const std::string& dir);
  bool under_static(std::string_view path) const;  // some mount covers it
  // A response when path is under a static mount (404 for a missing or
  // refused file), nullopt when it is not. Reads the disk: the transport
  // calls it on its file thread, which is safe because routes and mounts
  // are only added before the loop runs.
  std::optional<HttpResponse> serve_static(std::string_view method, std::string_view path) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;  // "{name}" binds one segment
    HttpHandler handler;
    RouteOptions options;
  };
  struct Mount {
    std::string prefix;          // always ends with '/'
    std::filesystem::path root;  // canonical
  };
  std::vector<Route> routes_;
  std::vector<Mount> mounts_;
};

std::string_view mime_type(std::string_view path);
// The file below root named by rest, or nullopt when rest is empty of
// meaning, has "..", ".", backslashes or NULs, or resolves outside root.
std::optional<std::filesystem::path> resolve_below(const std::filesystem::path& root, std::string_view rest);
HttpResponse error_response(int status, std::string_view code, std::string_view message);

}  // namespace realtime::lws_detail
