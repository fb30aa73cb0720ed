// The writer (group commit, file faults) and reader threads of the SQLite
// store (see workers.h). Everything here runs on those threads, except
// enqueue() and stop(), which the loop (or the closing thread) calls.
#include "store/sqlite/workers.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "store/sqlite/schema.h"

namespace realtime::sqlite {
namespace {

using SteadyClock = std::chrono::steady_clock;

Status not_stored(const Status& why) { return Status::unavailable("not stored: " + why.message()); }

}  // namespace

Worker::Worker(Executor& completions, std::size_t threads, std::size_t max_batch, std::size_t max_queued)
    : completions_(completions),
      threads_(std::max<std::size_t>(threads, 1)),
      max_batch_(std::max<std::size_t>(max_batch, 1)),
      max_queued_(max_queued) {}

Worker::~Worker() { stop(); }

void Worker::start() {
  for (std::size_t i = 0; i < threads_; ++i) running_.emplace_back([this, i] { loop(i); });
}

Worker::Enqueued Worker::enqueue(std::unique_ptr<Op>& op) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Enqueued::stopped;
    if (max_queued_ > 0 && queue_.size() >= max_queued_) return Enqueued::full;
    queue_.push_back(std::move(op));
  }
  cv_.notify_one();
  return Enqueued::ok;
}

void Worker::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : running_)
    if (t.joinable()) t.join();
}

void Worker::loop(std::size_t thread) {
  for (;;) {
    std::vector<std::unique_ptr<Op>> batch;
    {
      std::unique_lock lock(mu_);
      while (!stopping_ && queue_.empty()) {
        const auto interval = tick_interval();
        if (!interval) {
          cv_.wait(lock);
        } else if (cv_.wait_for(lock, *interval) == std::cv_status::timeout && queue_.empty() && !stopping_) {
          lock.unlock();
          tick();
          lock.lock();
        }
      }
      if (queue_.empty()) return;  // stopping, and everything queued has run
      while (!queue_.empty() && batch.size() < max_batch_) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    run_batch(thread, batch);
    // One post per batch: the loop runs the completions in call order.
    auto done = std::make_shared<std::vector<std::unique_ptr<Op>>>(std::move(batch));
    completions_.post([done] {
      for (auto& op : *done) op->complete();
    });
  }
}

Writer::Writer(Db db, Executor& completions, const SqliteStoreOptions& options, ReadConnections& readers,
               FileHealth& health)
    : Worker(completions, 1, options.max_batch, 0),
      db_(std::move(db)),
      options_(options),
      readers_(readers),
      health_(health) {}

Writer::~Writer() { stop(); }

void Writer::run_batch(std::size_t, std::vector<std::unique_ptr<Op>>& batch) {
  auto fail_all = [&](const Status& why) {
    for (auto& op : batch) op->fail(not_stored(why));
  };
  if (Status s = ready(); !s.ok()) return fail_all(s);
  const std::int64_t changes_before = db_.total_changes();
  std::optional<FileFault> fault;
  if (run_fast(batch, fault) == Outcome::retry_with_savepoints) fault = run_with_savepoints(batch);
  if (fault) {
    fail_all(fault->status);
    enter_fault(*fault);
  } else if (health_.faulted() && db_.total_changes() != changes_before) {
    health_.clear();  // something reached the file: it takes writes again
  }
  // Bounded: one entry per room written since the last clear.
  if (db_.room_seqs().size() > 100'000) db_.room_seqs().clear();
}

void Writer::check_foreign_commits() {
  auto v = db_.query_int("PRAGMA data_version");
  if (!v.ok() || *v != data_version_) db_.room_seqs().clear();
  data_version_ = v.ok() ? *v : -1;
}

std::optional<Writer::FileFault> Writer::classify(const Status& failure) const {
  const int code = db_.error_code();
  if (failure.ok() || !is_storage_error(code)) return std::nullopt;
  const int primary = code & 0xff;
  FileFault f;
  f.close = primary == SQLITE_IOERR || primary == SQLITE_READONLY || primary == SQLITE_CANTOPEN;
  f.corrupt = primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB;
  f.status = Status::unavailable(fmt::format(
      "the database file {} cannot be written: {} (sqlite code {}){}", options_.path, sqlite3_errstr(code),
      code,
      f.close ? "; the store has closed it and reopens it when the file system is back" : "; retry later"));
  return f;
}

void Writer::enter_fault(const FileFault& fault) {
  health_.set(fault.status);
  next_retry_ = SteadyClock::now() + options_.fault_retry_interval;
  if (fault.corrupt) db_.release_cache();
  // Never close a file that has left its path: the last close of a WAL
  // database checkpoints into it and deletes the -wal beside the path,
  // which would throw away what only that file still holds.
  if (fault.close && !db_.file_moved()) close_all();
}

Status Writer::ready() {
  const auto now = SteadyClock::now();
  if (!db_.is_open()) {
    if (now < next_retry_) return health_.get();
    next_retry_ = now + options_.fault_retry_interval;
    if (Status s = reopen_all(); !s.ok()) {
      health_.set(s);
      return s;
    }
  }
  if (db_.file_moved()) {
    Status moved = Status::unavailable(fmt::format(
        "the database file {} was deleted, renamed or replaced while the store had it open; nothing is "
        "written until that same file is back at its path (reopening the store instead starts from "
        "whatever file is then there)",
        options_.path));
    health_.set(moved);
    next_retry_ = now + options_.fault_retry_interval;
    return moved;
  }
  return {};
}

std::optional<std::chrono::milliseconds> Writer::tick_interval() {
  if (!health_.faulted()) return std::nullopt;
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(next_retry_ - SteadyClock::now());
  return std::max(left, std::chrono::milliseconds(1));
}

void Writer::tick() {
  if (!health_.faulted() || SteadyClock::now() < next_retry_) return;
  if (Status s = ready(); !s.ok()) return;  // reopens closed connections (due now)
  if (probe()) health_.clear();
}

bool Writer::probe() {
  Status s = db_.prepare("BEGIN IMMEDIATE").run();
  // Page 1 rewritten with the value it has: a real write (WAL frame and
  // sync) that changes nothing.
  if (s.ok()) s = db_.exec(fmt::format("PRAGMA application_id={}", kApplicationId));
  if (s.ok()) s = db_.prepare("COMMIT").run();
  if (s.ok()) return true;
  std::optional<FileFault> fault = classify(s);
  if (!db_.autocommit()) (void)db_.exec("ROLLBACK");
  if (fault) {
    enter_fault(*fault);
  } else {
    next_retry_ = SteadyClock::now() + options_.fault_retry_interval;
  }
  return false;
}

void Writer::close_all() {
  ReadConnections::Exclusive lock(readers_);
  for (std::size_t i = 0; i < readers_.size(); ++i) readers_.at(i).close();
  db_.close();  // last, so it is the one that would checkpoint
}

Status Writer::reopen_all() {
  ReadConnections::Exclusive lock(readers_);
  auto fail = [&](const Status& why) {
    for (std::size_t i = 0; i < readers_.size(); ++i) readers_.at(i).close();
    return Status::unavailable(fmt::format("the database file cannot be reopened ({}); retrying every {} ms",
                                           why.message(), options_.fault_retry_interval.count()));
  };
  auto writer = open_writer(options_, /*create=*/false);
  if (!writer.ok()) return fail(writer.status());
  for (std::size_t i = 0; i < readers_.size(); ++i) {
    auto reader = open_reader(options_);
    if (!reader.ok()) return fail(reader.status());
    readers_.at(i) = std::move(*reader);
  }
  db_ = std::move(*writer);
  data_version_ = -1;
  return {};
}

Writer::Outcome Writer::run_fast(std::vector<std::unique_ptr<Op>>& batch, std::optional<FileFault>& fault) {
  if (Status s = db_.prepare("BEGIN IMMEDIATE").run(); !s.ok()) {
    fault = classify(s);
    return fault ? Outcome::file_fault : Outcome::retry_with_savepoints;
  }
  // Inside the write lock: nobody can commit between this check and ours.
  check_foreign_commits();
  auto abandon = [&](Outcome why) {
    if (!db_.autocommit()) (void)db_.exec("ROLLBACK");
    db_.room_seqs().clear();
    return why;
  };
  for (auto& op : batch) {
    const std::int64_t before = db_.total_changes();
    const Status r = op->run(db_);
    if (r.ok()) continue;
    if (r.code() == StatusCode::internal && (fault = classify(r))) return abandon(Outcome::file_fault);
    const bool wrote = db_.total_changes() != before;
    if (r.code() == StatusCode::internal || wrote || db_.autocommit()) {
      return abandon(Outcome::retry_with_savepoints);
    }
  }
  if (Status c = db_.prepare("COMMIT").run(); !c.ok()) {
    fault = classify(c);
    return abandon(fault ? Outcome::file_fault : Outcome::retry_with_savepoints);
  }
  return Outcome::committed;
}

std::optional<Writer::FileFault> Writer::run_with_savepoints(std::vector<std::unique_ptr<Op>>& batch) {
  std::vector<bool> applied(batch.size(), false);
  std::size_t txn_start = 0;  // first Op of the current transaction
  std::optional<FileFault> fault;
  // A storage error anywhere ends the batch: the caller fails all of it.
  auto file_failed = [&](const Status& s) { return (fault = classify(s)).has_value(); };
  auto abort = [&] {
    if (!db_.autocommit()) (void)db_.exec("ROLLBACK");
    db_.room_seqs().clear();
    return fault;
  };
  auto lose_transaction = [&](std::size_t end, const Status& why) {
    for (std::size_t j = txn_start; j < end; ++j) {
      if (!applied[j]) continue;
      applied[j] = false;
      batch[j]->fail(Status::internal("not stored: its batch was rolled back: " + why.message()));
    }
  };
  auto begin = [&](std::size_t from) {
    txn_start = from;
    db_.room_seqs().clear();
    Status s = db_.prepare("BEGIN IMMEDIATE").run();
    if (s.ok()) {
      check_foreign_commits();
      return true;
    }
    if (file_failed(s)) return false;
    for (std::size_t j = from; j < batch.size(); ++j) {
      batch[j]->fail(Status::internal("cannot begin a write transaction: " + s.message()));
    }
    return false;
  };
  if (!begin(0)) return fault;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (Status s = db_.prepare("SAVEPOINT op").run(); !s.ok()) {
      if (file_failed(s)) return abort();
      batch[i]->fail(s);
    } else if (Status r = batch[i]->run(db_); r.ok()) {
      if (Status rel = db_.prepare("RELEASE op").run(); rel.ok()) {
        applied[i] = true;
      } else {
        if (file_failed(rel)) return abort();
        db_.room_seqs().clear();
        batch[i]->fail(rel);
      }
    } else {
      if (r.code() == StatusCode::internal && file_failed(r)) return abort();
      if (!db_.autocommit()) {
        // A refused call (not_found, conflict...) or a failed statement:
        // undo only this Op's changes (and forget what it may have memoised).
        db_.room_seqs().clear();
        Status undo = db_.prepare("ROLLBACK TO op").run();
        if (undo.ok()) undo = db_.prepare("RELEASE op").run();
        if (!undo.ok()) {
          if (file_failed(undo)) return abort();
          batch[i]->fail(undo);
        }
      }
    }
    if (db_.autocommit()) {
      // SQLite ended the transaction itself: what this batch did so far is
      // gone. Start over for the rest.
      lose_transaction(i, Status::internal(db_.error("transaction aborted").message()));
      if (i + 1 == batch.size()) return std::nullopt;
      if (!begin(i + 1)) return fault;
    }
  }
  if (Status c = db_.prepare("COMMIT").run(); !c.ok()) {
    if (file_failed(c)) return abort();
    if (!db_.autocommit()) (void)db_.exec("ROLLBACK");
    lose_transaction(batch.size(), c);
    db_.room_seqs().clear();
  }
  return std::nullopt;
}

Reader::Reader(Executor& completions, ReadConnections& connections, std::size_t first_slot,
               std::size_t threads, std::size_t max_queued, FileHealth& health)
    : Worker(completions, threads, 1, max_queued),
      connections_(connections),
      first_slot_(first_slot),
      health_(health) {}

Reader::~Reader() { stop(); }

void Reader::run_batch(std::size_t thread, std::vector<std::unique_ptr<Op>>& batch) {
  for (auto& op : batch) {
    ReadConnections::Use use(connections_);
    Db& db = connections_.at(first_slot_ + thread);
    if (!db.is_open()) {
      const Status fault = health_.get();
      op->fail(fault.ok() ? Status::unavailable("the database file is being reopened; retry") : fault);
      continue;
    }
    bool corrupt = false;
    auto on_file_error = [&](const Status& s) {
      const int code = db.error_code();
      if (!is_storage_error(code)) return false;
      op->fail(Status::unavailable("the database file cannot be read: " + s.message()));
      corrupt = (code & 0xff) == SQLITE_CORRUPT || (code & 0xff) == SQLITE_NOTADB;
      return true;
    };
    if (Status s = db.prepare("BEGIN").run(); !s.ok()) {
      if (!on_file_error(s)) op->fail(s);
      continue;
    }
    if (Status r = op->run(db); r.code() == StatusCode::internal) (void)on_file_error(r);
    // A read transaction has nothing to commit; ending it lets the writer
    // checkpoint past our snapshot.
    (void)db.prepare("COMMIT").run();
    if (!db.autocommit()) (void)db.exec("ROLLBACK");
    // A corrupt page must not stay cached once the file is repaired.
    if (corrupt) db.release_cache();
  }
}

}  // namespace realtime::sqlite
