// Fanout (fanout.h): the subscription table under one mutex; a delivery is
// a task on the subscriber's loop holding the subscription and the payload,
// which every subscriber of the message shares.
#include "bus/fanout.h"

#include <algorithm>
#include <utility>

namespace realtime::bus_detail {

namespace {
// What a queued delivery costs beyond its bytes (the task, the shared_ptr).
constexpr std::size_t kDeliveryOverhead = 64;
}  // namespace

struct Fanout::Subscription {
  Bus::SubscriptionId id = 0;
  std::string channel;
  EventLoop* loop = nullptr;
  Bus::Handler handler;
  std::atomic<bool> active{true};
  std::atomic<std::size_t> queued{0};  // bytes posted to the loop, not yet run
};

Fanout::Fanout(std::size_t max_queued_bytes) : max_queued_bytes_(max_queued_bytes) {}

Fanout::~Fanout() {
  std::lock_guard lock(mu_);
  for (auto& [id, sub] : by_id_) sub->active = false;
}

Fanout::Added Fanout::add(std::string channel, EventLoop& loop, Bus::Handler handler) {
  auto sub = std::make_shared<Subscription>();
  sub->channel = std::move(channel);
  sub->loop = &loop;
  sub->handler = std::move(handler);
  std::lock_guard lock(mu_);
  sub->id = next_id_++;
  auto& list = channels_[sub->channel];
  list.push_back(sub);
  by_id_.emplace(sub->id, sub);
  return {sub->id, list.size() == 1};
}

std::string Fanout::remove(Bus::SubscriptionId id) {
  std::lock_guard lock(mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return {};
  SubPtr sub = std::move(it->second);
  by_id_.erase(it);
  sub->active = false;
  auto ch = channels_.find(sub->channel);
  if (ch == channels_.end()) return {};
  std::erase(ch->second, sub);
  if (!ch->second.empty()) return {};
  channels_.erase(ch);
  return sub->channel;
}

std::vector<std::string> Fanout::channels() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  out.reserve(channels_.size());
  for (const auto& [name, subs] : channels_) out.push_back(name);
  return out;
}

void Fanout::deliver(std::string_view channel, std::string_view payload) {
  std::vector<SubPtr> targets;
  {
    std::lock_guard lock(mu_);
    auto it = channels_.find(std::string(channel));
    if (it == channels_.end()) return;
    targets = it->second;
  }
  const std::size_t cost = payload.size() + channel.size() + kDeliveryOverhead;
  auto bytes = std::make_shared<const std::string>(payload);
  for (auto& sub : targets) {
    // Reserve first, so that threads delivering at once cannot pass the
    // bound together.
    if (sub->queued.fetch_add(cost) + cost > max_queued_bytes_) {
      sub->queued -= cost;
      ++dropped_;
      continue;
    }
    sub->loop->post([stats = stats_, sub, bytes, cost] {
      sub->queued -= cost;
      if (!sub->active) return;
      ++stats->delivered;
      sub->handler(sub->channel, *bytes);
    });
  }
}

}  // namespace realtime::bus_detail
