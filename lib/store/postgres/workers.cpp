// The writer (group commit, retries) and reader threads of the PostgreSQL
// store (see workers.h). Everything here runs on those threads, except
// enqueue() and stop().
#include "store/postgres/workers.h"

#include <algorithm>
#include <random>

#include "store/postgres/append.h"

namespace realtime::pg {
namespace {

// Most times one batch is planned and run (retries after lost races, and
// rounds that narrow a failing statement down to its call).
constexpr int kMaxRounds = 16;

template <class Ops>
void post_all(Executor& exec, Ops ops) {
  auto shared = std::make_shared<Ops>(std::move(ops));
  exec.post([shared] {
    for (auto& op : *shared) op->complete();
  });
}

// What a call that waited in vain is told. Callers' messages may reach
// clients, so they do not name the server; health() and the log do.
Status waited(const Health& health, const PostgresStoreOptions& o) {
  if (!health.get().ok()) return Status::unavailable("the database is unreachable; retry later");
  return Status::unavailable("no answer from the database within " + std::to_string(o.request_timeout.count()) +
                             " ms; retry later");
}

SteadyClock::time_point idle_wake(const Link& link, const PostgresStoreOptions& o) {
  const auto now = SteadyClock::now();
  return link.connected() ? now + o.probe_interval : std::max(link.next_attempt(), now + std::chrono::milliseconds{5});
}

}  // namespace

Indexer::Indexer(const PostgresStoreOptions& o, Health& health, std::size_t index)
    : o_(o), link_(o, Role::reader, health, index) {}

Indexer::~Indexer() { stop(); }

void Indexer::start() { thread_ = std::thread([this] { loop(); }); }

void Indexer::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Indexer::appended(std::size_t n) {
  std::lock_guard lock(mu_);
  pending_ += n;
}

void Indexer::loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, o_.index_interval, [&] { return stopping_; });
    if (stopping_) break;
    if (pending_ == 0) {
      // Idle: keep the connection checked like every other, so that
      // health() recovers with the server.
      lock.unlock();
      link_.probe();
      lock.lock();
      continue;
    }
    pending_ = 0;
    lock.unlock();
    // Failures cost nothing but this round: the inserts merge the list
    // themselves once it passes its limit.
    if (Conn* c = link_.get()) {
      Pipeline p;
      p.add(Query::clean_index, {});
      if (!c->run(p, SteadyClock::now() + o_.request_timeout).ok()) link_.broken(Status::unavailable("indexer lost"));
    }
    lock.lock();
  }
}

Writer::Writer(const PostgresStoreOptions& o, Health& health, std::size_t index, Executor& completions,
               Indexer& indexer)
    : o_(o), link_(o, Role::writer, health, index), health_(health), completions_(completions), indexer_(indexer) {}

Writer::~Writer() { stop(); }

void Writer::start(Conn first) {
  link_.adopt(std::move(first));
  thread_ = std::thread([this] { loop(); });
}

void Writer::stop() {
  queue_.stop();
  if (thread_.joinable()) thread_.join();
}

void Writer::loop() {
  for (;;) {
    Batch batch = queue_.take(std::max<std::size_t>(o_.max_batch, 1), idle_wake(link_, o_));
    if (batch.empty()) {
      if (queue_.stopping()) return;
      link_.probe();
      continue;
    }
    run(batch);
    post_all(completions_, std::move(batch));
  }
}

void Writer::fail_unsettled(Batch& batch, const Status& s) {
  for (auto& op : batch) {
    if (op->settled) continue;
    op->settled = true;
    op->fail(s);
  }
}

void Writer::fail_expired(Batch& batch) {
  const auto now = SteadyClock::now();
  for (auto& op : batch) {
    if (op->settled || op->due > now) continue;
    op->settled = true;
    op->fail(waited(health_, o_));
  }
}

void Writer::run(Batch& batch) {
  fail_expired(batch);
  for (;;) {
    const bool waiting = std::any_of(batch.begin(), batch.end(), [](const auto& op) { return !op->settled; });
    if (!waiting) return;
    if (Conn* c = link_.get()) return run_batch(*c, batch);
    // Closing while cut off: nobody should wait for a reconnection.
    if (queue_.stopping()) return fail_unsettled(batch, waited(health_, o_));
    auto earliest = link_.next_attempt();
    for (auto& op : batch)
      if (!op->settled) earliest = std::min(earliest, op->due);
    queue_.pause(earliest);
    fail_expired(batch);
  }
}

void Writer::run_batch(Conn& c, Batch& batch) {
  std::minstd_rand jitter(static_cast<unsigned>(batch.size()));
  int races = 0;
  std::string last_error;
  for (int round = 0; round < kMaxRounds; ++round) {
    // Plan: BEGIN, the room lock, the calls in order (consecutive appends
    // as segments), COMMIT.
    std::vector<Segment> segments;
    std::vector<long> units;  // in call order: op index, or -2 - segment index
    std::vector<std::string> rooms;
    std::size_t calls = 0;    // calls other than appends and flushes
    for (std::size_t i = 0; i < batch.size(); ++i) {
      WriteOp& op = *batch[i];
      if (op.settled) continue;
      if (const std::string* r = op.room()) rooms.push_back(*r);
      if (AppendOp* a = op.as_append()) {
        const bool open = !units.empty() && units.back() <= -2;
        if (!open || !segments.back().accepts(*a)) {
          segments.emplace_back();
          units.push_back(-2 - static_cast<long>(segments.size() - 1));
        }
        segments.back().add(a);
        continue;
      }
      units.push_back(static_cast<long>(i));
      if (op.has_statements()) ++calls;
    }
    Pipeline p;
    std::vector<long> owner;  // per statement: op index, -1 nobody, -2 - k segment k
    p.add(Query::begin, {});
    owner.push_back(-1);
    // A batch that is a single segment locks its rooms itself, in the
    // same order (sql.cpp); any other takes them all first.
    if (!rooms.empty() && (calls > 0 || segments.size() > 1)) {
      std::sort(rooms.begin(), rooms.end());
      rooms.erase(std::unique(rooms.begin(), rooms.end()), rooms.end());
      ArrayText ids;
      for (const auto& r : rooms) ids.add(r);
      p.add(Query::lock_rooms, Params().add(ids.take()));
      owner.push_back(-1);
    }
    for (const long u : units) {
      if (u <= -2) {
        segments[static_cast<std::size_t>(-2 - u)].plan(p);
      } else {
        batch[static_cast<std::size_t>(u)]->plan(p);
      }
      owner.resize(p.size(), u);
    }
    p.add(Query::commit, {});
    owner.push_back(-1);

    if (calls == 0 && segments.empty()) {
      // Only flushes: what they wait for committed in earlier batches.
      for (auto& op : batch)
        if (!op->settled) op->take(Outcome{});
      return;
    }
    auto out = c.run(p, SteadyClock::now() + o_.request_timeout);
    if (!out.ok()) {
      link_.broken(out.status());
      return fail_unsettled(batch, Status::unavailable("lost the connection to the database; the write may or may "
                                                       "not have been stored: retry (with its clientMsgId)"));
    }
    if (!out->error) {
      std::size_t appends = 0;
      for (const auto& s : segments) {
        s.take(*out);
        appends += s.ops().size();
      }
      if (appends > 0) indexer_.appended(appends);
      for (auto& op : batch)
        if (!op->settled && !op->as_append()) op->take(*out);
      return;
    }
    const Outcome::Error& e = *out->error;
    last_error = e.message + (e.sqlstate.empty() ? "" : " (" + e.sqlstate + ")");
    const ErrorKind kind = classify(e.sqlstate);
    if (!c.connected()) {
      // The server ended the session with the error (a shutdown): the
      // transaction is gone with it.
      link_.broken(Status::unavailable(last_error));
      return fail_unsettled(batch, Status::unavailable("not stored: the database ended the session; retry later"));
    }
    if (kind == ErrorKind::retry) {
      if (++races > kMaxRetries) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(1, 10 * races)(jitter)));
      continue;
    }
    if (kind == ErrorKind::resource) {
      const bool transient = e.sqlstate.starts_with("08") || e.sqlstate.starts_with("57") ||
                             e.sqlstate == "25006" || e.sqlstate == "53300";
      const std::string msg = "not stored: PostgreSQL: " + last_error;
      return fail_unsettled(batch, transient ? Status::unavailable(msg) : Status::internal(msg));
    }
    // One call's statement failed: that call fails alone, after its
    // segment (if it had company) was split into single appends.
    const long who = e.index < owner.size() ? owner[e.index] : -1;
    if (who >= 0) {
      batch[static_cast<std::size_t>(who)]->settled = true;
      batch[static_cast<std::size_t>(who)]->fail(Status::internal("not stored: PostgreSQL: " + last_error));
      continue;
    }
    if (who <= -2) {
      const Segment& s = segments[static_cast<std::size_t>(-2 - who)];
      if (s.ops().size() > 1) {
        for (AppendOp* a : s.ops()) a->alone = true;
      } else {
        s.ops().front()->settled = true;
        s.ops().front()->fail(Status::internal("not stored: PostgreSQL: " + last_error));
      }
      continue;
    }
    return fail_unsettled(batch, Status::internal("not stored: PostgreSQL: " + last_error));
  }
  fail_unsettled(batch, Status::internal("not stored: PostgreSQL kept failing the transaction: " + last_error));
}

Readers::Readers(const PostgresStoreOptions& o, Health& health, std::size_t first_index, Executor& completions)
    : o_(o), health_(health), completions_(completions) {
  for (std::size_t i = 0; i < o.readers; ++i) {
    links_.push_back(std::make_unique<Link>(o, Role::reader, health, first_index + i));
  }
}

Readers::~Readers() { stop(); }

void Readers::start() {
  for (auto& link : links_) threads_.emplace_back([this, l = link.get()] { loop(*l); });
}

void Readers::stop() {
  queue_.stop();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

void Readers::loop(Link& link) {
  for (;;) {
    auto ops = queue_.take(1, idle_wake(link, o_));
    if (ops.empty()) {
      if (queue_.stopping()) return;
      link.probe();
      continue;
    }
    ReadOp& op = *ops.front();
    for (;;) {
      if (SteadyClock::now() >= op.due) {
        op.fail(waited(health_, o_));
        break;
      }
      Conn* c = link.get();
      if (c == nullptr) {
        if (queue_.stopping()) {
          op.fail(waited(health_, o_));
          break;
        }
        queue_.pause(std::min(op.due, link.next_attempt()));
        continue;
      }
      if (op.run(*c, SteadyClock::now() + o_.request_timeout)) break;
      link.broken(Status::unavailable("connection lost during a read"));
    }
    post_all(completions_, std::move(ops));
  }
}

}  // namespace realtime::pg
