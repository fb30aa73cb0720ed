// PushSubscriptionStore: the browsers' Web Push subscriptions (RFC 8030
// endpoints with their RFC 8291 keys), by user, for notifications to
// members who are away (chatd's /api/push/subscriptions). One per process;
// with PostgreSQL every node of a cluster sees the same subscriptions.
//
// Unlike Store, calls block until the storage answered: make them on a
// worker thread (chatd's notification sender and its REST worker), never
// on a loop. Every method is safe from any thread. Failures are a Status
// (`unavailable`: the storage cannot be reached now).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "realtime/export.h"
#include "realtime/status.h"

namespace realtime {

struct PushSubscription {
  std::string user_id;
  std::string endpoint;  // the push service's URL for this browser; unique
  std::string p256dh;    // base64url, as PushSubscription.toJSON() gives it
  std::string auth;      // base64url
  std::int64_t created = 0;  // ms since the epoch
};

class REALTIME_EXPORT PushSubscriptionStore {
 public:
  virtual ~PushSubscriptionStore() = default;
  // Adds a subscription, or replaces the one with its endpoint (which then
  // belongs to this user). A user keeps at most `max_per_user`: the oldest
  // go first.
  virtual Status put(const PushSubscription& s, std::size_t max_per_user) = 0;
  // Removes the endpoint's subscription; with a `user_id`, only if it is
  // theirs. True when one was removed.
  virtual Result<bool> remove(std::string_view endpoint, std::string_view user_id = {}) = 0;
  // A user's subscriptions, newest first.
  virtual Result<std::vector<PushSubscription>> of_user(std::string_view user_id) = 0;
};

// In memory, for --store memory and tests (realtime::store_memory).
REALTIME_EXPORT std::unique_ptr<PushSubscriptionStore> make_memory_push_subscriptions();
// A table in the SQLite file at `path`, on a connection of its own
// (realtime::store_sqlite). Creates the table when missing.
[[nodiscard]] REALTIME_EXPORT Result<std::unique_ptr<PushSubscriptionStore>> open_sqlite_push_subscriptions(
    const std::string& path);
// A table in the PostgreSQL database of `conninfo`, on a connection of its
// own that is opened again after a failure (realtime::store_postgres).
// Creates the table when missing.
[[nodiscard]] REALTIME_EXPORT Result<std::unique_ptr<PushSubscriptionStore>> open_postgres_push_subscriptions(
    const std::string& conninfo);

}  // namespace realtime
