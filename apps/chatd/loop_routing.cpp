// pick_loop() and the sid prefixes (loop_routing.h).
#include "loop_routing.h"

#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <thread>

#include "realtime/acceptor.h"

namespace chatd {

namespace {

// The base64url alphabet, as the rest of a sid uses.
constexpr std::string_view kSidChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static_assert(kSidChars.size() == kMaxLoops);

bool is_attachment_path(std::string_view path) {
  if (path.starts_with("/api/attachments/")) return true;
  // /api/rooms/{id}/attachments
  if (!path.starts_with("/api/rooms/")) return false;
  path.remove_prefix(std::string_view("/api/rooms/").size());
  std::size_t slash = path.find('/');
  return slash != std::string_view::npos && path.substr(slash) == "/attachments";
}

std::size_t hash_peer(const sockaddr_storage& peer) {
  std::string_view bytes;
  if (peer.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&peer);
    bytes = std::string_view(reinterpret_cast<const char*>(&a->sin_addr), sizeof a->sin_addr);
  } else if (peer.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&peer);
    bytes = std::string_view(reinterpret_cast<const char*>(&a->sin6_addr), sizeof a->sin6_addr);
  }
  return std::hash<std::string_view>{}(bytes);
}

}  // namespace

std::size_t resolve_threads(int threads) {
  std::size_t n = threads > 0 ? static_cast<std::size_t>(threads) : std::thread::hardware_concurrency();
  return std::clamp<std::size_t>(n, 1, kMaxLoops);
}

std::string sid_prefix(std::size_t index) { return std::string(1, kSidChars[index % kMaxLoops]); }

std::size_t pick_loop(std::string_view line, const sockaddr_storage& peer, std::size_t loops,
                      std::atomic<std::size_t>& next) {
  if (loops <= 1) return 0;
  if (line.empty()) return hash_peer(peer) % loops;
  std::string_view sid = realtime::request_line_sid(line);
  if (!sid.empty()) {
    std::size_t at = kSidChars.find(sid.front());
    // A sid no loop made: any loop answers it as unknown.
    if (at != std::string_view::npos && at < loops) return at;
  }
  if (is_attachment_path(realtime::request_line_path(line))) return 0;
  return next.fetch_add(1, std::memory_order_relaxed) % loops;
}

}  // namespace chatd
