// The PostgreSQL half of store_bench (see postgres_side.h). Bench thread
// only; the throwaway server is a child process (tests/pg).
#include "postgres_side.h"

#include <libpq-fe.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "pg_cluster.h"
#include "store/postgres/values.h"

namespace bench {

using namespace realtime;

namespace {

void die(const std::string& what) {
  std::fprintf(stderr, "store_bench: %s\n", what.c_str());
  std::exit(1);
}

void exec(PGconn* c, const std::string& sql) {
  PGresult* r = PQexec(c, sql.c_str());
  const auto st = PQresultStatus(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) die(sql + ": " + PQresultErrorMessage(r));
  PQclear(r);
}

PGconn* connect(const std::string& conninfo) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  if (PQstatus(c) != CONNECTION_OK) die(std::string("cannot connect: ") + PQerrorMessage(c));
  return c;
}

class Throwaway final : public PgServer {
 public:
  explicit Throwaway(std::unique_ptr<testing::PgCluster> c) : cluster_(std::move(c)) {}
  std::string fresh_schema(const std::string& schema) override {
    if (Status s = cluster_->exec("CREATE SCHEMA " + schema); !s.ok()) die(s.to_string());
    return "host=127.0.0.1 port=" + std::to_string(cluster_->port()) +
           " user=postgres dbname=postgres options='-c search_path=" + schema + "'";
  }
  CpuMeter cpu() override {
    return [c = cluster_.get()] { return c->cpu_seconds(); };
  }
  std::string describe() const override {
    return "throwaway PostgreSQL on this machine (fsync on, synchronous_commit on), port " +
           std::to_string(cluster_->port());
  }

 private:
  std::unique_ptr<testing::PgCluster> cluster_;
};

class External final : public PgServer {
 public:
  explicit External(std::string url) : url_(std::move(url)) {}
  std::string fresh_schema(const std::string& schema) override {
    PGconn* c = connect(url_);
    exec(c, "DROP SCHEMA IF EXISTS " + schema + " CASCADE; CREATE SCHEMA " + schema);
    PQfinish(c);
    return url_ + (url_.find("://") != std::string::npos ? (url_.find('?') == std::string::npos ? "?" : "&") +
                                                               std::string("options=-csearch_path%3D") + schema
                                                         : " options='-c search_path=" + schema + "'");
  }
  CpuMeter cpu() override { return nullptr; }
  std::string describe() const override { return "PostgreSQL at " + postgres_describe(url_); }

 private:
  std::string url_;
};

}  // namespace

std::unique_ptr<PgServer> PgServer::start(const std::string& url) {
  if (!url.empty()) return std::make_unique<External>(url);
  testing::PgCluster::Options o;
  o.durable = true;
  // A bigger WAL between checkpoints, as any write-heavy server has.
  o.settings = {"max_wal_size=4GB", "shared_buffers=256MB"};
  auto c = testing::PgCluster::start(o);
  if (!c.ok()) die(c.status().to_string());
  return std::make_unique<Throwaway>(std::move(*c));
}

std::unique_ptr<Store> open_postgres(InProcessTransport& loop, const std::string& conninfo, std::size_t max_batch) {
  PostgresStoreOptions o;
  o.conninfo = conninfo;
  o.max_batch = max_batch;
  // A full batch of 10,000 rooms takes longer than a chat server's usual
  // request budget on a loaded 2-core machine.
  o.request_timeout = std::chrono::seconds(60);
  auto s = open_postgres_store(o, loop);
  if (!s.ok()) die(s.status().to_string());
  return std::move(*s);
}

Latency pg_raw_history_run(const std::string& conninfo, const std::string& room, long last_seq, int samples) {
  PGconn* c = connect(conninfo);
  PGresult* p = PQprepare(c, "page",
                          "SELECT m.* FROM rooms r LEFT JOIN LATERAL (SELECT " REALTIME_PG_MESSAGE_COLS
                          " FROM messages m WHERE m.rid = r.rid AND m.seq < $2::bigint ORDER BY m.seq DESC LIMIT 51)"
                          " m ON true WHERE r.id = $1",
                          0, nullptr);
  if (PQresultStatus(p) != PGRES_COMMAND_OK) die(PQresultErrorMessage(p));
  PQclear(p);
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<long> cursor(51, last_seq + 1);
  std::vector<double> us;
  for (int i = 0; i < samples; ++i) {
    const std::string before = std::to_string(cursor(rng));
    const char* params[] = {room.c_str(), before.c_str()};
    const auto t = Clock::now();
    PGresult* r = PQexecPrepared(c, "page", 2, params, nullptr, nullptr, 0);
    us.push_back(seconds_since(t) * 1e6);
    if (PQntuples(r) != 51) std::fprintf(stderr, "raw page had %d rows\n", PQntuples(r));
    PQclear(r);
  }
  PQfinish(c);
  return summarize(std::move(us));
}

double pg_naive_peer_run(const std::string& conninfo, long n) {
  {
    InProcessTransport loop;
    auto store = open_postgres(loop, conninfo, PostgresStoreOptions{}.max_batch);
    create_rooms(loop, *store, "peer", 1);
    store->close();
    loop.run_until_idle();
  }
  PGconn* c = connect(conninfo);
  exec(c, "SET synchronous_commit = on");
  PGresult* p = PQprepare(c, "seq", "UPDATE rooms SET last_seq = last_seq + 1 WHERE id = $1 RETURNING rid, last_seq",
                          0, nullptr);
  PQclear(p);
  p = PQprepare(c, "ins",
                "INSERT INTO messages(rid, seq, sender_id, sender_name, sender_role, type, text, created_at, words) "
                "VALUES ($1::bigint, $2::bigint, $3, $3, 'member', 0, $4, $5::bigint, "
                "($6::text || ' ''#' || $1 || '''')::tsvector)",
                0, nullptr);
  if (PQresultStatus(p) != PGRES_COMMAND_OK) die(PQresultErrorMessage(p));
  PQclear(p);
  const auto start = Clock::now();
  for (long i = 0; i < n; ++i) {
    const NewMessage m = message("peer0", i);
    exec(c, "BEGIN");
    const char* room[] = {"peer0"};
    PGresult* s = PQexecPrepared(c, "seq", 1, room, nullptr, nullptr, 0);
    const std::string rid = PQgetvalue(s, 0, 0), seq = PQgetvalue(s, 0, 1);
    PQclear(s);
    const std::string created = std::to_string(pg::to_millis(m.created_at));
    const std::string words = pg::tsvector_words(m.text);
    const char* values[] = {rid.c_str(), seq.c_str(), m.sender_id.c_str(), m.text.c_str(), created.c_str(),
                            words.c_str()};
    PGresult* r = PQexecPrepared(c, "ins", 6, values, nullptr, nullptr, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) die(PQresultErrorMessage(r));
    PQclear(r);
    exec(c, "COMMIT");
  }
  const double rate = static_cast<double>(n) / seconds_since(start);
  PQfinish(c);
  return rate;
}

}  // namespace bench
