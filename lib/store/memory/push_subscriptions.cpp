// make_memory_push_subscriptions() (realtime/push_subscription_store.h):
// a map under a mutex.
#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>

#include "realtime/push_subscription_store.h"

namespace realtime {
namespace {

class MemoryPushSubscriptions final : public PushSubscriptionStore {
 public:
  Status put(const PushSubscription& s, std::size_t max_per_user) override {
    std::lock_guard lock(mu_);
    PushSubscription copy = s;
    copy.created = ++order_;  // arrival order: ties of the clock never reorder
    by_endpoint_[s.endpoint] = std::move(copy);
    auto mine = collect(s.user_id);
    for (std::size_t i = max_per_user; i < mine.size(); ++i) by_endpoint_.erase(mine[i].endpoint);
    return {};
  }
  Result<bool> remove(std::string_view endpoint, std::string_view user_id) override {
    std::lock_guard lock(mu_);
    auto it = by_endpoint_.find(std::string(endpoint));
    if (it == by_endpoint_.end() || (!user_id.empty() && it->second.user_id != user_id)) return false;
    by_endpoint_.erase(it);
    return true;
  }
  Result<std::vector<PushSubscription>> of_user(std::string_view user_id) override {
    std::lock_guard lock(mu_);
    return collect(user_id);
  }

 private:
  std::vector<PushSubscription> collect(std::string_view user_id) const {
    std::vector<PushSubscription> out;
    for (const auto& [endpoint, s] : by_endpoint_)
      if (s.user_id == user_id) out.push_back(s);
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.created > b.created; });
    return out;
  }
  std::mutex mu_;
  std::map<std::string, PushSubscription> by_endpoint_;
  std::int64_t order_ = 0;
};

}  // namespace

std::unique_ptr<PushSubscriptionStore> make_memory_push_subscriptions() {
  return std::make_unique<MemoryPushSubscriptions>();
}

}  // namespace realtime
