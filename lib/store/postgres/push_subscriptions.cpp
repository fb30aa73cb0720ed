// open_postgres_push_subscriptions() (realtime/push_subscription_store.h):
// a table in the cluster's database, on one blocking libpq connection of
// its own under a mutex (its callers are worker threads, and a handful of
// statements per notification need no pipeline). A broken connection is
// opened again on the next call.
#include <libpq-fe.h>

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
    " created TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp());"
    "CREATE INDEX IF NOT EXISTS push_subscriptions_user ON push_subscriptions(user_id, created)";


class PostgresPushSubscriptions final : public PushSubscriptionStore {
 public:
  explicit PostgresPushSubscriptions(PGconn* conn) : conn_(conn) {}
  ~PostgresPushSubscriptions() override { PQfinish(conn_); }

  Status put(const PushSubscription& s, std::size_t max_per_user) override {
    std::lock_guard lock(mu_);
    const std::string max = std::to_string(max_per_user);
    // One statement: concurrent puts of one user from several nodes each
    // trim to the bound.
    auto r = run(
        "WITH up AS (INSERT INTO push_subscriptions(endpoint, user_id, p256dh, auth) VALUES($1, $2, $3, $4) "
        "ON CONFLICT(endpoint) DO UPDATE SET user_id = $2, p256dh = $3, auth = $4, created = clock_timestamp()) "
        "SELECT 1",
        {s.endpoint.c_str(), s.user_id.c_str(), s.p256dh.c_str(), s.auth.c_str()});
    if (!r.ok()) return r.status();
    auto trim = run(
        "DELETE FROM push_subscriptions WHERE user_id = $1 AND endpoint NOT IN ("
        " SELECT endpoint FROM push_subscriptions WHERE user_id = $1 ORDER BY created DESC LIMIT $2::int)",
        {s.user_id.c_str(), max.c_str()});
    return trim.ok() ? Status() : trim.status();
  }

  Result<bool> remove(std::string_view endpoint, std::string_view user_id) override {
    std::lock_guard lock(mu_);
    const std::string e(endpoint), u(user_id);
    auto r = run("DELETE FROM push_subscriptions WHERE endpoint = $1 AND ($2 = '' OR user_id = $2)",
                 {e.c_str(), u.c_str()});
    if (!r.ok()) return r.status();
    return std::string(PQcmdTuples(r.value().get())) != "0";
  }

  Result<std::vector<PushSubscription>> of_user(std::string_view user_id) override {
    std::lock_guard lock(mu_);
    const std::string u(user_id);
    auto r = run(
        "SELECT endpoint, p256dh, auth, (extract(epoch FROM created) * 1000)::bigint FROM push_subscriptions "
        "WHERE user_id = $1 ORDER BY created DESC",
        {u.c_str()});
    if (!r.ok()) return r.status();
    std::vector<PushSubscription> out;
    PGresult* res = r.value().get();
    for (int i = 0; i < PQntuples(res); ++i)
      out.push_back({u, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
                     std::stoll(PQgetvalue(res, i, 3))});
    return out;
  }

 private:
  // Runs a statement, opening the connection again once if it broke.
  Result<std::shared_ptr<PGresult>> run(const char* sql, std::initializer_list<const char*> params) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (PQstatus(conn_) != CONNECTION_OK) PQreset(conn_);
      if (PQstatus(conn_) != CONNECTION_OK) break;
      std::shared_ptr<PGresult> res(
          PQexecParams(conn_, sql, static_cast<int>(params.size()), nullptr, params.begin(), nullptr, nullptr, 0),
          PQclear);
      const ExecStatusType st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
      if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return res;
      if (PQstatus(conn_) == CONNECTION_OK) {
        std::string why = "push subscriptions: ";
        why += PQerrorMessage(conn_);
        return Status::internal(std::move(why));
      }
    }
    return Status::unavailable("push subscriptions: PostgreSQL is unreachable");
  }

  std::mutex mu_;
  PGconn* conn_;
};

}  // namespace

Result<std::unique_ptr<PushSubscriptionStore>> open_postgres_push_subscriptions(const std::string& conninfo) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    PQfinish(conn);
    return Status::unavailable("push subscriptions: cannot connect to PostgreSQL");
  }
  // Several nodes may start at once: the table is created by one of them.
  PGresult* lock = PQexec(conn, "SELECT pg_advisory_lock(816016)");
  PQclear(lock);
  PGresult* r = PQexec(conn, kSchema);
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  PQclear(PQexec(conn, "SELECT pg_advisory_unlock(816016)"));
  if (!ok) {
    std::string why = "push subscriptions table: ";
    why += PQerrorMessage(conn);
    PQfinish(conn);
    return Status::internal(std::move(why));
  }
  return std::unique_ptr<PushSubscriptionStore>(std::make_unique<PostgresPushSubscriptions>(conn));
}

}  // namespace realtime
