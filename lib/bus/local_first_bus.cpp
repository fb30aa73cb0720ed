// LocalFirstBus (include/realtime/local_first_bus.h): each subscription is
// two, one per bus; the network one drops this process's own frames.
#include "realtime/local_first_bus.h"

#include <atomic>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "realtime/random.h"

namespace realtime {

namespace {
constexpr std::size_t kIdBytes = 16;
constexpr std::size_t kFrameBytes = 1 + kIdBytes;
}  // namespace

struct LocalFirstBus::Impl {
  Impl(Bus& n, InProcessBusOptions o) : network(n), local(o) {
    frame.push_back('\0');
    std::string id = random_token(12);  // 16 base64url characters
    id.resize(kIdBytes, '_');
    frame += id;
  }
  Bus& network;
  InProcessBus local;
  std::string frame;  // zero byte + this process's id
  std::atomic<std::uint64_t> published{0};
  std::atomic<std::uint64_t> own_echoes{0};
  std::mutex mu;
  std::atomic<SubscriptionId> next{1};
  std::unordered_map<SubscriptionId, std::pair<SubscriptionId, SubscriptionId>> subs;  // ours -> (local, network)
};

LocalFirstBus::LocalFirstBus(Bus& network, InProcessBusOptions local)
    : impl_(std::make_unique<Impl>(network, local)) {}

LocalFirstBus::~LocalFirstBus() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (auto& [id, pair] : impl_->subs) impl_->network.unsubscribe(pair.second);
}

Bus::SubscriptionId LocalFirstBus::subscribe(std::string channel, EventLoop& loop, Handler handler) {
  Impl* impl = impl_.get();
  const SubscriptionId l = impl->local.subscribe(channel, loop, handler);
  const SubscriptionId n = impl->network.subscribe(
      std::move(channel), loop, [impl, handler](std::string_view ch, std::string_view payload) {
        if (payload.empty() || payload.front() != '\0') return handler(ch, payload);  // not framed: someone else's
        if (payload.size() < kFrameBytes) return;
        if (payload.substr(0, kFrameBytes) == impl->frame) {
          impl->own_echoes.fetch_add(1, std::memory_order_relaxed);
          return;  // heard already, through the local bus
        }
        handler(ch, payload.substr(kFrameBytes));
      });
  const SubscriptionId id = impl->next.fetch_add(1);
  std::lock_guard<std::mutex> lock(impl->mu);
  impl->subs.emplace(id, std::make_pair(l, n));
  return id;
}

void LocalFirstBus::unsubscribe(SubscriptionId id) {
  std::pair<SubscriptionId, SubscriptionId> pair;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    auto it = impl_->subs.find(id);
    if (it == impl_->subs.end()) return;
    pair = it->second;
    impl_->subs.erase(it);
  }
  impl_->local.unsubscribe(pair.first);
  impl_->network.unsubscribe(pair.second);
}

void LocalFirstBus::publish(std::string_view channel, std::string_view payload) {
  impl_->published.fetch_add(1, std::memory_order_relaxed);
  impl_->local.publish(channel, payload);
  std::string framed;
  framed.reserve(kFrameBytes + payload.size());
  framed += impl_->frame;
  framed += payload;
  impl_->network.publish(channel, framed);
}

Bus::State LocalFirstBus::state() const { return impl_->network.state(); }

Bus::SubscriptionId LocalFirstBus::watch_state(EventLoop& loop, StateHandler handler) {
  return impl_->network.watch_state(loop, std::move(handler));
}

void LocalFirstBus::unwatch_state(SubscriptionId id) { impl_->network.unwatch_state(id); }

BusStats LocalFirstBus::stats() const {
  const BusStats l = impl_->local.stats(), n = impl_->network.stats();
  BusStats s;
  s.published = impl_->published.load();
  const std::uint64_t echoes = impl_->own_echoes.load();
  s.delivered = l.delivered + (n.delivered > echoes ? n.delivered - echoes : 0);
  s.dropped = l.dropped + n.dropped;
  return s;
}

}  // namespace realtime
