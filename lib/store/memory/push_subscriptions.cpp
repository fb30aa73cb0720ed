// make_memory_push_subscriptions() (realtime/push_subscription_store.h):
// maps under a mutex, by user and by endpoint, so that the sender's read
// of one user's subscriptions never walks everyone's.
#include <algorithm>
#include <map>
#include <mutex>

#include "realtime/push_subscription_store.h"

namespace realtime {
namespace {

class MemoryPushSubscriptions final : public PushSubscriptionStore {
 public:
  Status put(const PushSubscription& s, std::size_t max_per_user) override {
    std::lock_guard lock(mu_);
    drop(s.endpoint);  // an endpoint belongs to one user: the latest to put it
    PushSubscription copy = s;
    copy.created = ++order_;  // arrival order: ties of the clock never reorder
    owner_[s.endpoint] = s.user_id;
    auto& mine = by_user_[s.user_id];
    mine[s.endpoint] = std::move(copy);
    while (mine.size() > max_per_user) {
      auto oldest = std::min_element(mine.begin(), mine.end(),
                                     [](const auto& a, const auto& b) { return a.second.created < b.second.created; });
      owner_.erase(oldest->first);
      mine.erase(oldest);
    }
    return {};
  }
  Result<bool> remove(std::string_view endpoint, std::string_view user_id) override {
    std::lock_guard lock(mu_);
    auto it = owner_.find(std::string(endpoint));
    if (it == owner_.end() || (!user_id.empty() && it->second != user_id)) return false;
    drop(std::string(endpoint));
    return true;
  }
  Result<std::vector<PushSubscription>> of_user(std::string_view user_id) override {
    std::lock_guard lock(mu_);
    std::vector<PushSubscription> out;
    if (auto it = by_user_.find(std::string(user_id)); it != by_user_.end())
      for (const auto& [endpoint, s] : it->second) out.push_back(s);
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.created > b.created; });
    return out;
  }

 private:
  // Removes the endpoint's subscription, if any, and its user's entry once empty.
  void drop(const std::string& endpoint) {
    auto it = owner_.find(endpoint);
    if (it == owner_.end()) return;
    auto user = by_user_.find(it->second);
    user->second.erase(endpoint);
    if (user->second.empty()) by_user_.erase(user);
    owner_.erase(it);
  }

  std::mutex mu_;
  std::map<std::string, std::map<std::string, PushSubscription>> by_user_;
  std::map<std::string, std::string> owner_;  // endpoint -> user
  std::int64_t order_ = 0;
};

}  // namespace

std::unique_ptr<PushSubscriptionStore> make_memory_push_subscriptions() {
  return std::make_unique<MemoryPushSubscriptions>();
}

}  // namespace realtime
