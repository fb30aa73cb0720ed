// PostgresStore: the Store interface on top of the writer and reader
// threads (see realtime/postgres_store.h and docs/store.md). Store calls
// arrive on the loop thread; this file only packages them as Ops and
// queues them, so the loop never waits on PostgreSQL. open_postgres_store()
// runs on the caller's thread before the store's threads exist.
#include "realtime/postgres_store.h"

#include <fmt/format.h>

#include <atomic>
#include <mutex>
#include <random>
#include <thread>

#include "store/postgres/append.h"
#include "store/postgres/conninfo.h"
#include "store/postgres/link.h"
#include "store/postgres/reactions.h"
#include "store/postgres/moderation.h"
#include "store/postgres/reads.h"
#include "store/postgres/schema.h"
#include "store/postgres/workers.h"
#include "store/postgres/writes.h"

namespace realtime {
namespace {

using pg::SteadyClock;

class PostgresStore final : public Store {
 public:
  PostgresStore(const PostgresStoreOptions& options, Executor& completions)
      : options_(options),
        exec_(completions),
        pending_(std::make_shared<std::atomic<std::size_t>>(0)),
        health_(2 + options_.readers, completions, options_.on_health_change),
        indexer_(options_, health_, 1),
        writer_(options_, health_, 0, completions, indexer_),
        readers_(options_, health_, 2, completions) {}
  ~PostgresStore() override { close(); }

  void start(pg::Conn first) {
    indexer_.start();
    writer_.start(std::move(first));
    readers_.start();
  }

  void create_room(Room room, Completion<Room> done) override {
    write(pg::create_room_op(std::move(room), counted(std::move(done))));
  }
  void get_room(std::string id, Completion<Room> done) override {
    read(pg::get_room_op(std::move(id), counted(std::move(done))));
  }
  void find_direct_room(std::string a, std::string b, Completion<Room> done) override {
    read(pg::find_direct_room_op(std::move(a), std::move(b), counted(std::move(done))));
  }
  void add_member(std::string room, Member member, Completion<Room> done) override {
    write(pg::add_member_op(std::move(room), std::move(member), counted(std::move(done))));
  }
  void remove_member(std::string room, std::string user_id, Completion<Room> done) override {
    write(pg::remove_member_op(std::move(room), std::move(user_id), counted(std::move(done))));
  }
  void update_session(std::string room, RoomStatus status, std::optional<Timestamp> started_at,
                      std::optional<Timestamp> ended_at, Completion<Room> done) override {
    write(pg::update_session_op(std::move(room), status, started_at, ended_at, counted(std::move(done))));
  }
  void set_join_secret(std::string room, std::string secret, std::optional<Timestamp> expires_at,
                       Completion<Room> done) override {
    write(pg::set_join_secret_op(std::move(room), std::move(secret), expires_at, counted(std::move(done))));
  }
  void list_rooms(std::string user_id, Completion<std::vector<RoomSummary>> done) override {
    read(pg::list_rooms_op(std::move(user_id), counted(std::move(done))));
  }

  void append(NewMessage msg, Completion<Appended> done) override {
    write(pg::append_op(std::move(msg), counted(std::move(done))));
  }
  void get_message(std::string id, Completion<Message> done) override {
    read(pg::get_message_op(std::move(id), counted(std::move(done))));
  }
  void edit_message(std::string id, std::string text, Timestamp edited_at, Completion<Message> done) override {
    write(pg::edit_op(std::move(id), std::move(text), edited_at, counted(std::move(done))));
  }
  void delete_message(std::string id, Completion<Message> done) override {
    write(pg::delete_op(std::move(id), counted(std::move(done))));
  }
  void history(std::string room, HistoryQuery query, Completion<HistoryPage> done) override {
    read(pg::history_op(std::move(room), query, counted(std::move(done))));
  }
  void search(std::string room, std::string query, int limit, Completion<std::vector<Message>> done) override {
    read(pg::search_op(std::move(room), std::move(query), limit, counted(std::move(done))));
  }

  void mark_read(std::string room, std::string user_id, std::int64_t seq, Completion<ReadMark> done) override {
    write(pg::mark_read_op(std::move(room), std::move(user_id), seq, counted(std::move(done))));
  }
  void read_state(std::string room, std::string user_id, Completion<ReadState> done) override {
    read(pg::read_state_op(std::move(room), std::move(user_id), counted(std::move(done))));
  }
  void set_last_seen(std::string room, std::string user_id, Timestamp at, StatusCompletion done) override {
    write(pg::set_last_seen_op(std::move(room), std::move(user_id), at, counted(status_of(std::move(done)))));
  }

  void add_reaction(std::string id, std::string user, std::string emoji, std::size_t max_emojis,
                    Completion<bool> done) override {
    write(pg::add_reaction_op(std::move(id), std::move(user), std::move(emoji), max_emojis, counted(std::move(done))));
  }
  void remove_reaction(std::string id, std::string user, std::string emoji, Completion<bool> done) override {
    write(pg::remove_reaction_op(std::move(id), std::move(user), std::move(emoji), counted(std::move(done))));
  }
  void reactions(std::vector<std::string> ids, std::string viewer, std::size_t list_users,
                 Completion<std::vector<MessageReactions>> done) override {
    read(pg::reactions_op(std::move(ids), std::move(viewer), list_users, counted(std::move(done))));
  }
  void set_member_role(std::string room, std::string user_id, std::string role, Completion<Room> done) override {
    write(pg::member_role_op(std::move(room), std::move(user_id), std::move(role), counted(std::move(done))));
  }
  void set_mute(std::string room, std::string user_id, std::optional<Timestamp> until, StatusCompletion done) override {
    write(pg::mute_op(std::move(room), std::move(user_id), until, counted(status_of(std::move(done)))));
  }
  void set_slow_mode(std::string room, int seconds, StatusCompletion done) override {
    write(pg::slow_mode_op(std::move(room), seconds, counted(status_of(std::move(done)))));
  }
  void room_moderation(std::string room, Completion<RoomModeration> done) override {
    read(pg::room_moderation_op(std::move(room), counted(std::move(done))));
  }
  void append_audit(AuditEntry entry, Completion<AuditEntry> done) override {
    write(pg::audit_add_op(std::move(entry), counted(std::move(done))));
  }
  void audit_log(std::string room, std::optional<std::int64_t> before, int limit, Completion<AuditPage> done) override {
    read(pg::audit_page_op(std::move(room), before, limit, counted(std::move(done))));
  }
  void set_ban(Ban ban, StatusCompletion done) override {
    write(pg::ban_op(std::move(ban), counted(status_of(std::move(done)))));
  }
  void remove_ban(std::string user_id, StatusCompletion done) override {
    write(pg::unban_op(std::move(user_id), counted(status_of(std::move(done)))));
  }
  void list_bans(Timestamp now, std::size_t limit, Completion<std::vector<Ban>> done) override {
    read(pg::bans_op(now, limit, counted(std::move(done))));
  }

  void flush(StatusCompletion done) override { write(pg::flush_op(counted(status_of(std::move(done))))); }

  void close() override {
    std::lock_guard lock(close_mu_);
    if (closed_.exchange(true)) return;
    writer_.stop();
    readers_.stop();
    indexer_.stop();
  }

  std::size_t pending() const override { return pending_->load(); }
  Status health() const override { return health_.get(); }

 private:
  static Completion<pg::Done> status_of(StatusCompletion done) {
    return [done = std::move(done)](Result<pg::Done> r) { done(r.status()); };
  }

  // Wraps a completion so that pending() counts the call until it runs.
  template <class T>
  Completion<T> counted(Completion<T> done) {
    pending_->fetch_add(1);
    return [pending = pending_, done = std::move(done)](Result<T> r) {
      pending->fetch_sub(1);
      done(std::move(r));
    };
  }

  // Queues an op, or fails it at once (closed, overloaded).
  template <class OpT, class Queue>
  void submit(std::unique_ptr<OpT> op, Queue& queue) {
    op->due = SteadyClock::now() + options_.request_timeout;
    Status refused;
    if (closed_.load()) {
      refused = Status::unavailable("store is closed");
    } else if (pending_->load() > options_.max_pending) {
      refused = Status::unavailable("store is overloaded: too many calls pending");
    } else if (!queue.enqueue(op)) {
      refused = Status::unavailable("store is closed");
    }
    if (refused.ok()) return;
    op->fail(std::move(refused));
    std::shared_ptr<OpT> shared = std::move(op);
    exec_.post([shared] { shared->complete(); });
  }
  void write(std::unique_ptr<pg::WriteOp> op) { submit(std::move(op), writer_); }
  void read(std::unique_ptr<pg::ReadOp> op) { submit(std::move(op), readers_); }

  const PostgresStoreOptions options_;
  Executor& exec_;
  std::shared_ptr<std::atomic<std::size_t>> pending_;
  std::atomic<bool> closed_{false};
  std::mutex close_mu_;
  pg::Health health_;
  pg::Indexer indexer_;
  pg::Writer writer_;
  pg::Readers readers_;
};

Status check(const PostgresStoreOptions& o) {
  const auto& sc = o.synchronous_commit;
  if (sc != "on" && sc != "remote_apply" && sc != "remote_write" && sc != "local") {
    return Status::bad_request("synchronous_commit must be on, remote_apply, remote_write or local (not '" + sc +
                               "': an ack must follow the commit's flush)");
  }
  if (o.readers == 0) return Status::bad_request("PostgresStoreOptions.readers must be at least 1");
  if (o.request_timeout.count() <= 0 || o.connect_timeout.count() <= 0) {
    return Status::bad_request("PostgreSQL timeouts must be positive");
  }
  if (!o.conninfo.empty() && pg::describe(o.conninfo).empty()) {
    // Not quoted: whatever is wrong with it, it may hold a password.
    return Status::bad_request("the PostgreSQL connection string does not parse (a libpq URI or key=value pairs)");
  }
  return {};
}

// The first connection, retried with backoff for start_timeout, then
// migrated and configured as the writer's.
Result<pg::Conn> first_connection(const PostgresStoreOptions& o) {
  const auto give_up = SteadyClock::now() + o.start_timeout;
  auto pause = std::chrono::milliseconds{100};
  int attempts = 0;
  for (;;) {
    ++attempts;
    const auto deadline = std::max(SteadyClock::now() + o.connect_timeout, SteadyClock::now() + std::chrono::milliseconds{1});
    auto c = pg::Conn::open(o.conninfo, deadline);
    Status why = c.status();
    if (c.ok()) {
      // Migrating may wait for another process's migration: give it the
      // whole request budget.
      const auto work = SteadyClock::now() + std::max(o.request_timeout, o.connect_timeout);
      why = pg::migrate(*c, pg::describe(o.conninfo), work);
      if (why.ok()) why = pg::configure(*c, o, pg::Role::writer, work);
      if (why.ok()) return std::move(*c);
      // A refusal about the schema or the database is final.
      if (why.code() != StatusCode::unavailable) return Status(why.code(), pg::redact(why.message(), o.conninfo));
    }
    const auto now = SteadyClock::now();
    if (now >= give_up) {
      return pg::at_server(
          o, Status::unavailable(fmt::format("cannot connect ({} attempt{} in {:.1f} s): ", attempts,
                                             attempts == 1 ? "" : "s",
                                             std::chrono::duration<double>(o.start_timeout).count()) +
                                 why.message()));
    }
    pause = std::min(pause, std::chrono::duration_cast<std::chrono::milliseconds>(give_up - now) +
                                std::chrono::milliseconds{1});
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds{2000});
  }
}

}  // namespace

int postgres_store_schema_version() { return pg::kSchemaVersion; }

std::string postgres_describe(const std::string& conninfo) { return pg::describe(conninfo); }

Result<std::unique_ptr<Store>> open_postgres_store(const PostgresStoreOptions& options, Executor& completions) {
  if (Status s = check(options); !s.ok()) return s;
  auto first = first_connection(options);
  if (!first.ok()) return first.status();
  try {
    auto store = std::make_unique<PostgresStore>(options, completions);
    store->start(std::move(*first));
    return std::unique_ptr<Store>(std::move(store));
  } catch (const std::exception& e) {  // no thread could be started
    return Status::internal(std::string("cannot start the PostgreSQL store: ") + e.what());
  }
}

}  // namespace realtime
