// open_sqlite_push_subscriptions() (realtime/push_subscription_store.h): a
// table of its own in chatd.db, on a connection of its own under a mutex.
// The message store's writer and this connection share the file through
// WAL; a write here waits (busy_timeout) while the writer commits.
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <mutex>

#include "realtime/push_subscription_store.h"

namespace realtime {
namespace {

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS push_subscriptions ("
    " endpoint TEXT PRIMARY KEY,"
    " user_id TEXT NOT NULL,"
    " p256dh TEXT NOT NULL,"
    " auth TEXT NOT NULL,"
    " created INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS push_subscriptions_user ON push_subscriptions(user_id, created);";

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return rc_ == SQLITE_OK; }
  Stmt& text(int i, std::string_view v) {
    // An empty view may have no data pointer, which would bind NULL.
    sqlite3_bind_text(s_, i, v.empty() ? "" : v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& integer(int i, std::int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  int step() { return sqlite3_step(s_); }
  std::string column_text(int i) const {
    const auto* p = sqlite3_column_text(s_, i);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(s_, i)))
             : std::string();
  }
  std::int64_t column_int(int i) const { return sqlite3_column_int64(s_, i); }

 private:
  sqlite3_stmt* s_ = nullptr;
  int rc_ = SQLITE_ERROR;
};

class SqlitePushSubscriptions final : public PushSubscriptionStore {
 public:
  explicit SqlitePushSubscriptions(sqlite3* db) : db_(db) {}
  ~SqlitePushSubscriptions() override { sqlite3_close_v2(db_); }

  Status put(const PushSubscription& s, std::size_t max_per_user) override {
    std::lock_guard lock(mu_);
    Stmt upsert(db_,
                "INSERT INTO push_subscriptions(endpoint, user_id, p256dh, auth, created) VALUES(?1, ?2, ?3, ?4, ?5) "
                "ON CONFLICT(endpoint) DO UPDATE SET user_id = ?2, p256dh = ?3, auth = ?4, created = ?5");
    if (!upsert.ok()) return failure();
    // A later put never sorts before an earlier one, whatever the clock did.
    last_ = std::max(now_ms(), last_ + 1);
    if (upsert.text(1, s.endpoint).text(2, s.user_id).text(3, s.p256dh).text(4, s.auth).integer(5, last_).step() !=
        SQLITE_DONE)
      return failure();
    Stmt trim(db_,
              "DELETE FROM push_subscriptions WHERE user_id = ?1 AND endpoint NOT IN ("
              " SELECT endpoint FROM push_subscriptions WHERE user_id = ?1 ORDER BY created DESC LIMIT ?2)");
    if (!trim.ok() || trim.text(1, s.user_id).integer(2, static_cast<std::int64_t>(max_per_user)).step() != SQLITE_DONE)
      return failure();
    return {};
  }

  Result<bool> remove(std::string_view endpoint, std::string_view user_id) override {
    std::lock_guard lock(mu_);
    Stmt del(db_, "DELETE FROM push_subscriptions WHERE endpoint = ?1 AND (?2 = '' OR user_id = ?2)");
    if (!del.ok() || del.text(1, endpoint).text(2, user_id).step() != SQLITE_DONE) return failure();
    return sqlite3_changes(db_) > 0;
  }

  Result<std::vector<PushSubscription>> of_user(std::string_view user_id) override {
    std::lock_guard lock(mu_);
    Stmt q(db_,
           "SELECT endpoint, p256dh, auth, created FROM push_subscriptions WHERE user_id = ?1 ORDER BY created DESC");
    if (!q.ok()) return failure();
    q.text(1, user_id);
    std::vector<PushSubscription> out;
    for (int rc = q.step();; rc = q.step()) {
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return failure();
      out.push_back({std::string(user_id), q.column_text(0), q.column_text(1), q.column_text(2), q.column_int(3)});
    }
    return out;
  }

 private:
  Status failure() const {
    std::string why = "push subscriptions: ";
    why += sqlite3_errmsg(db_);
    return Status::unavailable(std::move(why));
  }
  std::mutex mu_;
  sqlite3* db_;
  std::int64_t last_ = 0;
};

}  // namespace

Result<std::unique_ptr<PushSubscriptionStore>> open_sqlite_push_subscriptions(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  if (rc != SQLITE_OK) {
    std::string why = "cannot open ";
    why += path;
    why += ": ";
    why += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return Status::internal(std::move(why));
  }
  sqlite3_busy_timeout(db, 5000);
  char* err = nullptr;
  if (sqlite3_exec(db, kSchema, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string why = "push subscriptions table: ";
    why += err ? err : "unknown error";
    sqlite3_free(err);
    sqlite3_close_v2(db);
    return Status::internal(std::move(why));
  }
  return std::unique_ptr<PushSubscriptionStore>(std::make_unique<SqlitePushSubscriptions>(db));
}

}  // namespace realtime
