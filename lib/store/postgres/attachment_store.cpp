// The PostgreSQL AttachmentStore (see realtime/postgres_attachment_store.h
// and attachment_sql.inc). Calls arrive on the loop thread and are queued
// as ops for this store's own threads (a pg::Readers pool: each thread one
// connection, one op at a time); completions come back on the Executor.
// Every call is one statement, or one transaction of two (remove_refs),
// so a call is atomic however many processes share the database.
//
// A read whose connection breaks runs again on a new one; a write does
// not (it may have committed): it answers `unavailable`.
#include "realtime/postgres_attachment_store.h"

#include <atomic>
#include <thread>

#include "store/postgres/conninfo.h"
#include "store/postgres/link.h"
#include "store/postgres/schema.h"
#include "store/postgres/values.h"
#include "store/postgres/workers.h"

namespace realtime {
namespace {

using pg::Conn;
using pg::Outcome;
using pg::Params;
using pg::Pipeline;
using pg::Query;
using pg::SteadyClock;

// bytea in the text protocol: "\x" and two hex digits a byte.
std::string to_hex(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 + bytes.size() * 2);
  out += "\\x";
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> from_hex(const char* text, std::size_t n) {
  if (n < 2 || text[0] != '\\' || text[1] != 'x' || n % 2 != 0)
    return Status::internal("PostgreSQL sent bytea in an unexpected form (bytea_output must be hex)");
  std::string out;
  out.resize((n - 2) / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = hex_digit(text[2 + 2 * i]), lo = hex_digit(text[3 + 2 * i]);
    if (hi < 0 || lo < 0) return Status::internal("PostgreSQL sent a bytea with a bad hex digit");
    out[i] = static_cast<char>(hi << 4 | lo);
  }
  return out;
}

// One call: fn runs on a store thread with a connection.
template <class T>
class AttOp final : public pg::Typed<T, pg::ReadOp> {
 public:
  using Fn = std::function<Result<T>(Conn&, SteadyClock::time_point)>;
  AttOp(Fn fn, bool rerun, Completion<T> done)
      : pg::Typed<T, pg::ReadOp>(std::move(done)), fn_(std::move(fn)), rerun_(rerun) {}
  bool run(Conn& c, SteadyClock::time_point deadline) override {
    Result<T> r = fn_(c, deadline);
    if (!c.connected()) {
      if (rerun_) return false;
      // It may have committed: the caller must not take it as refused.
      r = Status::unavailable("the database connection broke during an attachment update; retry");
    }
    this->answer(std::move(r));
    return true;
  }

 private:
  Fn fn_;
  bool rerun_;
};

Result<Outcome> exec(Conn& c, const Pipeline& p, SteadyClock::time_point deadline) {
  auto o = c.run(p, deadline);
  if (!o.ok()) return o.status();
  if (o->error) {
    if (o->error->sqlstate == "23505") return Status::conflict("the attachment id is taken");
    return pg::server_error(*o->error);
  }
  return std::move(*o);
}

Result<Outcome> exec1(Conn& c, Query q, Params params, SteadyClock::time_point deadline) {
  Pipeline p;
  p.add(q, std::move(params));
  return exec(c, p, deadline);
}

// Text PostgreSQL can hold (no NUL, valid UTF-8), for every string field.
Status check_text(std::initializer_list<std::pair<const char*, const std::string*>> fields) {
  for (const auto& [name, value] : fields)
    if (Status s = pg::storable(name, *value); !s.ok()) return s;
  return {};
}

class PostgresAttachmentStore final : public AttachmentStore {
 public:
  PostgresAttachmentStore(const PostgresAttachmentStoreOptions& options, Executor& completions)
      : options_(options),
        pg_(with_readers(options)),
        exec_(completions),
        health_(options.connections, completions, options.pg.on_health_change),
        readers_(pg_, health_, 0, completions) {}
  ~PostgresAttachmentStore() override { close(); }

  void start() { readers_.start(); }

  void put(AttachmentRecord rec, std::string bytes, std::uint64_t quota, StatusCompletion done) override {
    if (Status s = check_text({{"id", &rec.id}, {"room", &rec.room}, {"owner", &rec.owner}, {"name", &rec.name},
                               {"mime", &rec.mime}});
        !s.ok())
      return refuse<Done>(std::move(s), status_of(std::move(done)));
    if (bytes.size() != rec.size) return refuse<Done>(Status::bad_request("size does not match the bytes"), status_of(std::move(done)));
    const std::uint64_t held = bytes.size();
    if (pending_bytes_->load() + held > options_.max_pending_bytes) {
      return refuse<Done>(Status::unavailable("too many attachment bytes waiting for the database; retry"),
                          status_of(std::move(done)));
    }
    pending_bytes_->fetch_add(held);
    auto release = [pending = pending_bytes_, held, done = std::move(done)](Result<Done> r) {
      pending->fetch_sub(held);
      done(r.status());
    };
    auto body = std::make_shared<std::string>(std::move(bytes));
    submit<Done>([rec = std::move(rec), body, quota](Conn& c, SteadyClock::time_point dl) -> Result<Done> {
      Params p;
      p.add(rec.id).add(rec.room).add(rec.owner).add(rec.name).add(rec.mime);
      p.add(static_cast<std::int64_t>(rec.size)).add(rec.created).add(static_cast<std::int64_t>(quota));
      p.add(to_hex(*body));
      body->clear();
      body->shrink_to_fit();  // the hex copy is what goes out
      auto o = exec1(c, Query::att_put, std::move(p), dl);
      if (!o.ok()) return o.status();
      if (o->rows(0).size() == 0) return Status::payload_too_large("the owner's attachment quota would be passed");
      return Done{};
    }, false, std::move(release));
  }

  void get(std::string id, Completion<AttachmentRecord> done) override {
    submit<AttachmentRecord>([id = std::move(id)](Conn& c, SteadyClock::time_point dl) -> Result<AttachmentRecord> {
      if (!pg::storable_key("id", id).ok()) return Status::not_found("no such attachment");
      auto o = exec1(c, Query::att_get, Params().add(id), dl);
      if (!o.ok()) return o.status();
      const pg::Rows r = o->rows(0);
      if (r.size() == 0) return Status::not_found("no such attachment");
      AttachmentRecord rec;
      rec.id = id;
      rec.room = r.text(0, 0);
      rec.owner = r.text(0, 1);
      rec.name = r.text(0, 2);
      rec.mime = r.text(0, 3);
      rec.size = static_cast<std::uint64_t>(r.int64(0, 4));
      rec.created = r.int64(0, 5);
      return rec;
    }, true, std::move(done));
  }

  void read(std::string id, Completion<std::string> done) override {
    submit<std::string>([id = std::move(id)](Conn& c, SteadyClock::time_point dl) -> Result<std::string> {
      if (!pg::storable_key("id", id).ok()) return Status::not_found("no such attachment");
      auto o = exec1(c, Query::att_read, Params().add(id), dl);
      if (!o.ok()) return o.status();
      const pg::Rows r = o->rows(0);
      if (r.size() == 0) return Status::not_found("no such attachment");
      const PGresult* res = o->results[0].get();
      return from_hex(PQgetvalue(res, 0, 0), static_cast<std::size_t>(PQgetlength(res, 0, 0)));
    }, true, std::move(done));
  }

  void add_ref(std::string id, std::string room, std::string sender, std::int64_t at, std::size_t max_refs,
               StatusCompletion done) override {
    if (Status s = check_text({{"room", &room}, {"sender", &sender}}); !s.ok())
      return refuse<Done>(std::move(s), status_of(std::move(done)));
    submit<Done>([id = std::move(id), room = std::move(room), sender = std::move(sender), at, max_refs](
                     Conn& c, SteadyClock::time_point dl) -> Result<Done> {
      if (!pg::storable_key("id", id).ok()) return Status::not_found("no such attachment: upload it first");
      Params p;
      p.add(id).add(room).add(sender).add(at).add(static_cast<std::int64_t>(max_refs));
      auto o = exec1(c, Query::att_add_ref, std::move(p), dl);
      if (!o.ok()) return o.status();
      const pg::Rows r = o->rows(0);
      if (r.size() == 1 && r.int64(0, 0) == 1) return Done{};
      // Refused: say why from what the statement first saw.
      if (r.size() != 1 || r.null(0, 1)) return Status::not_found("no such attachment: upload it first");
      if (r.text(0, 1) != room) return Status::bad_request("the attachment was uploaded to another room");
      if (static_cast<std::uint64_t>(r.int64(0, 2)) >= max_refs)
        return Status::bad_request("the attachment is used by too many messages");
      return Status::not_found("no such attachment: it was removed");  // while the statement waited for it
    }, false, status_of(std::move(done)));
  }

  void settle_ref(std::string id, std::string sender, std::int64_t at, std::string msg, StatusCompletion done) override {
    if (Status s = check_text({{"sender", &sender}, {"msg", &msg}}); !s.ok())
      return refuse<Done>(std::move(s), status_of(std::move(done)));
    submit<Done>([id = std::move(id), sender = std::move(sender), at, msg = std::move(msg)](
                     Conn& c, SteadyClock::time_point dl) -> Result<Done> {
      auto o = exec1(c, Query::att_settle_ref, Params().add(id).add(sender).add(at).add(msg), dl);
      if (!o.ok()) return o.status();
      return Done{};
    }, false, status_of(std::move(done)));
  }

  void remove_refs(std::string id, std::vector<std::string> msgs, StatusCompletion done) override {
    pg::ArrayText ids;
    for (const auto& m : msgs) {
      if (Status s = pg::storable("msg", m); !s.ok()) return refuse<Done>(std::move(s), status_of(std::move(done)));
      ids.add(m);
    }
    submit<Done>([id = std::move(id), ids = ids.take()](Conn& c, SteadyClock::time_point dl) -> Result<Done> {
      Pipeline p;
      p.add(Query::begin, {});
      p.add(Query::att_unref, Params().add(id).add(ids));
      p.add(Query::att_drop_doomed, Params().add(id));
      p.add(Query::commit, {});
      auto o = exec(c, p, dl);
      if (!o.ok()) return o.status();
      return Done{};
    }, false, status_of(std::move(done)));
  }

  void usage(std::string owner, Completion<std::uint64_t> done) override {
    submit<std::uint64_t>([owner = std::move(owner)](Conn& c, SteadyClock::time_point dl) -> Result<std::uint64_t> {
      if (!pg::storable("owner", owner).ok()) return std::uint64_t{0};
      auto o = exec1(c, Query::att_usage, Params().add(owner), dl);
      if (!o.ok()) return o.status();
      return static_cast<std::uint64_t>(std::max<std::int64_t>(0, o->rows(0).int64(0, 0)));
    }, true, std::move(done));
  }

  void remove_unclaimed(std::int64_t created_before, std::size_t limit, Completion<std::size_t> done) override {
    submit<std::size_t>([created_before, limit](Conn& c, SteadyClock::time_point dl) -> Result<std::size_t> {
      auto o = exec1(c, Query::att_remove_unclaimed,
                     Params().add(created_before).add(static_cast<std::int64_t>(limit)), dl);
      if (!o.ok()) return o.status();
      return static_cast<std::size_t>(o->rows(0).int64(0, 0));
    }, false, std::move(done));
  }

  void pending_refs(std::int64_t before, std::size_t limit,
                    Completion<std::vector<PendingAttachmentRef>> done) override {
    submit<std::vector<PendingAttachmentRef>>(
        [before, limit](Conn& c, SteadyClock::time_point dl) -> Result<std::vector<PendingAttachmentRef>> {
          auto o = exec1(c, Query::att_pending_refs, Params().add(before).add(static_cast<std::int64_t>(limit)), dl);
          if (!o.ok()) return o.status();
          const pg::Rows r = o->rows(0);
          std::vector<PendingAttachmentRef> out;
          for (int i = 0; i < r.size(); ++i) out.push_back({r.text(i, 0), r.text(i, 1), r.text(i, 2), r.int64(i, 3)});
          return out;
        },
        true, std::move(done));
  }

  void message_refs(std::int64_t after, std::size_t limit,
                    Completion<std::vector<AttachmentMessageRef>> done) override {
    submit<std::vector<AttachmentMessageRef>>(
        [after, limit](Conn& c, SteadyClock::time_point dl) -> Result<std::vector<AttachmentMessageRef>> {
          auto o = exec1(c, Query::att_message_refs, Params().add(after).add(static_cast<std::int64_t>(limit)), dl);
          if (!o.ok()) return o.status();
          const pg::Rows r = o->rows(0);
          std::vector<AttachmentMessageRef> out;
          for (int i = 0; i < r.size(); ++i) out.push_back({r.text(i, 0), r.text(i, 1), r.int64(i, 2)});
          return out;
        },
        true, std::move(done));
  }

  void close() override {
    if (closed_.exchange(true)) return;
    readers_.stop();
  }

 private:
  using Done = pg::Done;

  static PostgresStoreOptions with_readers(const PostgresAttachmentStoreOptions& o) {
    PostgresStoreOptions p = o.pg;
    p.readers = std::max<std::size_t>(1, o.connections);
    return p;
  }

  static Completion<Done> status_of(StatusCompletion done) {
    return [done = std::move(done)](Result<Done> r) { done(r.status()); };
  }

  // Completes on the Executor with `s`, never inside the call.
  template <class T>
  void refuse(Status s, Completion<T> done) {
    exec_.post([s = std::move(s), done = std::move(done)] { done(s); });
  }

  template <class T>
  void submit(typename AttOp<T>::Fn fn, bool rerun, Completion<T> done) {
    auto pending = pending_;
    pending->fetch_add(1);
    Completion<T> counted = [pending, done = std::move(done)](Result<T> r) {
      pending->fetch_sub(1);
      done(std::move(r));
    };
    std::unique_ptr<pg::ReadOp> op = std::make_unique<AttOp<T>>(std::move(fn), rerun, std::move(counted));
    op->due = SteadyClock::now() + pg_.request_timeout;
    Status refused;
    if (closed_.load()) {
      refused = Status::unavailable("the attachment store is closed");
    } else if (pending->load() > pg_.max_pending) {
      refused = Status::unavailable("the attachment store is overloaded: too many calls pending");
    } else if (!readers_.enqueue(op)) {
      refused = Status::unavailable("the attachment store is closed");
    }
    if (refused.ok()) return;
    op->fail(std::move(refused));
    std::shared_ptr<pg::ReadOp> shared = std::move(op);
    exec_.post([shared] { shared->complete(); });
  }

  const PostgresAttachmentStoreOptions options_;
  const PostgresStoreOptions pg_;  // what the threads and links read
  Executor& exec_;
  std::shared_ptr<std::atomic<std::size_t>> pending_ = std::make_shared<std::atomic<std::size_t>>(0);
  std::shared_ptr<std::atomic<std::uint64_t>> pending_bytes_ = std::make_shared<std::atomic<std::uint64_t>>(0);
  std::atomic<bool> closed_{false};
  pg::Health health_;
  pg::Readers readers_;
};

// Connects (retrying for start_timeout) and migrates the schema once.
Status prepare(const PostgresStoreOptions& o) {
  const auto give_up = SteadyClock::now() + o.start_timeout;
  auto pause = std::chrono::milliseconds{100};
  for (;;) {
    auto c = Conn::open(o.conninfo, SteadyClock::now() + o.connect_timeout);
    Status why = c.status();
    if (c.ok()) {
      why = pg::migrate(*c, pg::describe(o.conninfo), SteadyClock::now() + std::max(o.request_timeout, o.connect_timeout));
      if (why.ok()) return {};
      if (why.code() != StatusCode::unavailable) return Status(why.code(), pg::redact(why.message(), o.conninfo));
    }
    if (SteadyClock::now() >= give_up) return pg::at_server(o, why);
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds{2000});
  }
}

}  // namespace

Result<std::unique_ptr<AttachmentStore>> open_postgres_attachment_store(const PostgresAttachmentStoreOptions& options,
                                                                         Executor& completions) {
  if (options.connections == 0) return Status::bad_request("PostgresAttachmentStoreOptions.connections must be at least 1");
  if (options.pg.request_timeout.count() <= 0 || options.pg.connect_timeout.count() <= 0)
    return Status::bad_request("PostgreSQL timeouts must be positive");
  if (!options.pg.conninfo.empty() && pg::describe(options.pg.conninfo).empty())
    return Status::bad_request("the PostgreSQL connection string does not parse (a libpq URI or key=value pairs)");
  if (Status s = prepare(options.pg); !s.ok()) return s;
  try {
    auto store = std::make_unique<PostgresAttachmentStore>(options, completions);
    store->start();
    return std::unique_ptr<AttachmentStore>(std::move(store));
  } catch (const std::exception& e) {
    return Status::internal(std::string("cannot start the PostgreSQL attachment store: ") + e.what());
  }
}

}  // namespace realtime
