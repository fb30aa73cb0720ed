// The writer (group commit) and reader threads of the SQLite store (see
// workers.h). Everything here runs on those threads, except enqueue() and
// stop(), which the loop (or the closing thread) calls.
#include "store/sqlite/workers.h"

#include <algorithm>
#include <utility>

namespace realtime::sqlite {

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
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
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

Writer::Writer(Db db, Executor& completions, std::size_t max_batch)
    : Worker(completions, 1, max_batch, 0), db_(std::move(db)) {}

Writer::~Writer() { stop(); }

void Writer::run_batch(std::size_t, std::vector<std::unique_ptr<Op>>& batch) {
  if (!run_fast(batch)) run_with_savepoints(batch);
  // Bounded: one entry per room written since the last clear.
  if (db_.room_seqs().size() > 100'000) db_.room_seqs().clear();
}

void Writer::check_foreign_commits() {
  auto v = db_.query_int("PRAGMA data_version");
  if (!v.ok() || *v != data_version_) db_.room_seqs().clear();
  data_version_ = v.ok() ? *v : -1;
}

bool Writer::run_fast(std::vector<std::unique_ptr<Op>>& batch) {
  if (!db_.prepare("BEGIN IMMEDIATE").run().ok()) return false;
  // Inside the write lock: nobody can commit between this check and ours.
  check_foreign_commits();
  auto abandon = [&] {
    if (!db_.autocommit()) (void)db_.exec("ROLLBACK");
    db_.room_seqs().clear();
    return false;
  };
  for (auto& op : batch) {
    const std::int64_t before = db_.total_changes();
    const Status r = op->run(db_);
    if (r.ok()) continue;
    const bool wrote = db_.total_changes() != before;
    if (r.code() == StatusCode::internal || wrote || db_.autocommit()) return abandon();
  }
  if (!db_.prepare("COMMIT").run().ok()) return abandon();
  return true;
}

void Writer::run_with_savepoints(std::vector<std::unique_ptr<Op>>& batch) {
  std::vector<bool> applied(batch.size(), false);
  std::size_t txn_start = 0;  // first Op of the current transaction
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
    for (std::size_t j = from; j < batch.size(); ++j) {
      batch[j]->fail(Status::internal("cannot begin a write transaction: " + s.message()));
    }
    return false;
  };
  if (!begin(0)) return;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (Status s = db_.prepare("SAVEPOINT op").run(); !s.ok()) {
      batch[i]->fail(s);
    } else if (Status r = batch[i]->run(db_); r.ok()) {
      if (Status rel = db_.prepare("RELEASE op").run(); rel.ok()) {
        applied[i] = true;
      } else {
        db_.room_seqs().clear();
        batch[i]->fail(rel);
      }
    } else if (!db_.autocommit()) {
      // A refused call (not_found, conflict...) or a failed statement:
      // undo only this Op's changes (and forget what it may have memoised).
      db_.room_seqs().clear();
      Status undo = db_.prepare("ROLLBACK TO op").run();
      if (undo.ok()) undo = db_.prepare("RELEASE op").run();
      if (!undo.ok()) batch[i]->fail(undo);
    }
    if (db_.autocommit()) {
      // SQLite ended the transaction itself (I/O error, disk full): what
      // this batch did so far is gone. Start over for the rest.
      lose_transaction(i, Status::internal(db_.error("transaction aborted").message()));
      if (i + 1 < batch.size() && !begin(i + 1)) return;
      if (i + 1 == batch.size()) return;
    }
  }
  if (Status c = db_.prepare("COMMIT").run(); !c.ok()) {
    if (!db_.autocommit()) (void)db_.exec("ROLLBACK");
    lose_transaction(batch.size(), c);
    db_.room_seqs().clear();
  }
}

Reader::Reader(Executor& completions, std::vector<Db> dbs, std::size_t max_queued)
    : Worker(completions, dbs.size(), 1, max_queued), dbs_(std::move(dbs)) {}

Reader::~Reader() { stop(); }

void Reader::run_batch(std::size_t thread, std::vector<std::unique_ptr<Op>>& batch) {
  Db& db = dbs_.at(thread);
  for (auto& op : batch) {
    if (Status s = db.prepare("BEGIN").run(); !s.ok()) {
      op->fail(s);
      continue;
    }
    (void)op->run(db);
    // A read transaction has nothing to commit; ending it lets the writer
    // checkpoint past our snapshot.
    (void)db.prepare("COMMIT").run();
    if (!db.autocommit()) (void)db.exec("ROLLBACK");
  }
}

}  // namespace realtime::sqlite
