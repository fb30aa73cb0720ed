// InProcessBus (include/realtime/in_process_bus.h): a channel table under
// one mutex; each delivery is a task posted to the subscriber's loop that
// holds the subscription and the shared payload. Any thread.
#include "realtime/in_process_bus.h"

#include <atomic>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace realtime {

namespace {
// What a queued delivery costs beyond its bytes (the task, the shared_ptr).
constexpr std::size_t kDeliveryOverhead = 64;
}  // namespace

struct InProcessBus::Shared {
  struct Subscription {
    SubscriptionId id;
    std::string channel;
    EventLoop* loop;
    Handler handler;
    std::atomic<bool> active{true};
    std::atomic<std::size_t> queued{0};  // bytes posted, not yet run
  };
  using SubPtr = std::shared_ptr<Subscription>;

  explicit Shared(InProcessBusOptions o) : options(o) {}

  const InProcessBusOptions options;
  mutable std::mutex mu;
  std::unordered_map<std::string, std::vector<SubPtr>> channels;  // under mu
  std::unordered_map<SubscriptionId, SubPtr> by_id;               // under mu
  SubscriptionId next_id = 1;                                     // under mu
  State state = State::up;                                        // under mu
  EventLoop* state_loop = nullptr;                                // under mu
  std::shared_ptr<StateHandler> state_handler;                    // under mu
  std::atomic<std::uint64_t> published{0};
  std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::uint64_t> dropped{0};
};

InProcessBus::InProcessBus(InProcessBusOptions options) : shared_(std::make_shared<Shared>(options)) {}

InProcessBus::~InProcessBus() {
  // Posted deliveries keep Shared alive; stop them from calling handlers
  // whose owners may be going away with the bus.
  std::lock_guard lock(shared_->mu);
  for (auto& [id, sub] : shared_->by_id) sub->active = false;
  shared_->channels.clear();
  shared_->by_id.clear();
}

Bus::SubscriptionId InProcessBus::subscribe(std::string channel, EventLoop& loop, Handler handler) {
  auto sub = std::make_shared<Shared::Subscription>();
  sub->channel = std::move(channel);
  sub->loop = &loop;
  sub->handler = std::move(handler);
  std::lock_guard lock(shared_->mu);
  sub->id = shared_->next_id++;
  shared_->channels[sub->channel].push_back(sub);
  shared_->by_id.emplace(sub->id, sub);
  return sub->id;
}

void InProcessBus::unsubscribe(SubscriptionId id) {
  std::lock_guard lock(shared_->mu);
  auto it = shared_->by_id.find(id);
  if (it == shared_->by_id.end()) return;
  Shared::SubPtr sub = std::move(it->second);
  shared_->by_id.erase(it);
  sub->active = false;
  auto ch = shared_->channels.find(sub->channel);
  if (ch == shared_->channels.end()) return;
  std::erase(ch->second, sub);
  if (ch->second.empty()) shared_->channels.erase(ch);
}

void InProcessBus::publish(std::string_view channel, std::string_view payload) {
  Shared& s = *shared_;
  std::vector<Shared::SubPtr> targets;
  {
    std::lock_guard lock(s.mu);
    ++s.published;
    auto it = s.channels.find(std::string(channel));
    if (it == s.channels.end()) return;
    if (s.state == State::down) {
      s.dropped += it->second.size();
      return;
    }
    targets = it->second;
  }
  const std::size_t cost = payload.size() + channel.size() + kDeliveryOverhead;
  auto bytes = std::make_shared<const std::string>(payload);
  for (auto& sub : targets) {
    // Reserve the bytes first, so that publishers racing on other threads
    // cannot pass the bound together.
    if (sub->queued.fetch_add(cost) + cost > s.options.max_queued_bytes) {
      sub->queued -= cost;
      ++s.dropped;
      continue;
    }
    sub->loop->post([shared = shared_, sub, bytes, cost] {
      sub->queued -= cost;
      if (!sub->active) return;
      ++shared->delivered;
      sub->handler(sub->channel, *bytes);
    });
  }
}

Bus::State InProcessBus::state() const {
  std::lock_guard lock(shared_->mu);
  return shared_->state;
}

void InProcessBus::on_state_change(EventLoop& loop, StateHandler handler) {
  std::lock_guard lock(shared_->mu);
  shared_->state_loop = &loop;
  shared_->state_handler = handler ? std::make_shared<StateHandler>(std::move(handler)) : nullptr;
}

void InProcessBus::set_state(State state) {
  EventLoop* loop = nullptr;
  std::shared_ptr<StateHandler> handler;
  {
    std::lock_guard lock(shared_->mu);
    if (shared_->state == state) return;
    shared_->state = state;
    loop = shared_->state_loop;
    handler = shared_->state_handler;
  }
  if (loop != nullptr && handler) loop->post([handler, state] { (*handler)(state); });
}

BusStats InProcessBus::stats() const {
  return {shared_->published.load(), shared_->delivered.load(), shared_->dropped.load()};
}

}  // namespace realtime
