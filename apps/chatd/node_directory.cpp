// node_tag(), resolve_advertise() and NodeDirectory (node_directory.h).
#include "node_directory.h"

#include <netdb.h>

#include <cstdint>
#include <cstring>

namespace chatd {

std::string node_tag(std::string_view advertise) {
  // FNV-1a: fixed across builds and processes, unlike std::hash.
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : advertise) {
    h ^= c;
    h *= 1099511628211ull;
  }
  static constexpr std::string_view kChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string tag;
  for (std::size_t i = 0; i < kNodeTagChars; ++i) {
    tag.push_back(kChars[h & 63]);
    h >>= 6;
  }
  return tag;
}

std::optional<sockaddr_storage> resolve_advertise(const std::string& advertise) {
  std::string_view rest = advertise;
  if (rest.starts_with("http://")) rest.remove_prefix(7);
  else if (rest.starts_with("https://")) rest.remove_prefix(8);
  else return std::nullopt;
  rest = rest.substr(0, rest.find('/'));
  std::size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string host(rest.substr(0, colon)), port(rest.substr(colon + 1));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || res == nullptr) return std::nullopt;
  sockaddr_storage out{};
  std::memcpy(&out, res->ai_addr, std::min<std::size_t>(res->ai_addrlen, sizeof out));
  ::freeaddrinfo(res);
  return out;
}

void NodeDirectory::replace(std::unordered_map<std::string, sockaddr_storage> by_tag) {
  std::lock_guard<std::mutex> lock(mu_);
  by_tag_ = std::move(by_tag);
}

std::optional<sockaddr_storage> NodeDirectory::find(std::string_view tag) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_tag_.find(std::string(tag));
  if (it == by_tag_.end()) return std::nullopt;
  return it->second;
}

std::size_t NodeDirectory::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return by_tag_.size();
}

DirectoryRefresh::DirectoryRefresh(realtime::EventLoop& loop, realtime::BlockingWorker& worker,
                                   std::function<std::vector<realtime::ClusterNode>()> nodes, NodeDirectory& directory,
                                   std::string own_tag, std::chrono::milliseconds period)
    : loop_(loop), worker_(worker), nodes_(std::move(nodes)), directory_(directory), own_tag_(std::move(own_tag)),
      period_(period) {
  timer_ = loop_.set_timer(std::chrono::milliseconds(0), [this] { tick(); });
}

DirectoryRefresh::~DirectoryRefresh() { loop_.cancel_timer(timer_); }

void DirectoryRefresh::tick() {
  std::vector<std::string> addresses;
  for (const auto& n : nodes_())
    if (!n.advertise.empty() && node_tag(n.advertise) != own_tag_) addresses.push_back(n.advertise);
  std::weak_ptr<char> alive = alive_;
  const bool queued = worker_.run([this, alive, addresses = std::move(addresses)] {
    std::unordered_map<std::string, sockaddr_storage> by_tag;
    for (const auto& a : addresses)
      if (auto to = resolve_advertise(a)) by_tag.emplace(node_tag(a), *to);
    return std::function<void()>([this, alive, by_tag = std::move(by_tag)]() mutable {
      if (!alive.lock()) return;
      directory_.replace(std::move(by_tag));
      timer_ = loop_.set_timer(period_, [this] { tick(); });
    });
  });
  if (!queued) timer_ = loop_.set_timer(period_, [this] { tick(); });
}

}  // namespace chatd
