// The SQLite store's threads. The writer owns the read-write connection
// and commits queued writes in batches (group commit); readers own
// query-only connections and answer reads, which WAL lets run beside the
// writer. There are two read lanes, each a Reader with its own queue:
// ordinary reads (a small pool) and searches (their own thread and a
// bounded queue), so a slow search never holds up a history page. Every
// worker posts finished Ops to the Executor, which runs their completions
// on the loop. Enqueue from any thread; stop() drains the queue, then
// joins.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "realtime/event_loop.h"
#include "realtime/sqlite_store.h"
#include "store/sqlite/connections.h"
#include "store/sqlite/db.h"
#include "store/sqlite/op.h"

namespace realtime::sqlite {

class Worker {
 public:
  // `threads` threads share one queue; each takes up to `max_batch` Ops at
  // once. `max_queued` > 0 bounds the Ops waiting (not yet taken).
  Worker(Executor& completions, std::size_t threads, std::size_t max_batch, std::size_t max_queued);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  virtual ~Worker();

  void start();
  enum class Enqueued { ok, stopped, full };
  // On anything but ok, `op` is left with the caller.
  Enqueued enqueue(std::unique_ptr<Op>& op);
  // Runs everything queued so far, then ends the threads. Idempotent.
  // A subclass must call it in its own destructor (the threads call its
  // overrides).
  void stop();

 protected:
  // Runs one batch of Ops (each gets a result) on worker thread `thread`.
  virtual void run_batch(std::size_t thread, std::vector<std::unique_ptr<Op>>& batch) = 0;
  // How long an idle thread waits for work before tick() runs, or nullopt
  // to wait for work only. Asked on that thread before each wait.
  virtual std::optional<std::chrono::milliseconds> tick_interval() { return std::nullopt; }
  virtual void tick() {}

 private:
  void loop(std::size_t thread);
  Executor& completions_;
  const std::size_t threads_;
  const std::size_t max_batch_;
  const std::size_t max_queued_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Op>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> running_;
};

// Group commit: one transaction per batch. Completions are posted only
// after COMMIT; if the transaction is lost (COMMIT fails, or SQLite rolls
// it back after an I/O error) every Op that had succeeded in it gets an
// error instead.
//
// A failed Op must undo only itself. Ops refuse (not_found, conflict...)
// before they write, so the fast path runs a batch without savepoints; if
// an Op fails after writing, or with an SQLite error, that transaction is
// rolled back and the whole batch re-run with a savepoint around each Op.
// Savepoints cost a copy of every page an Op touches (docs/store.md has
// the measurement), which is why they are not the default path.
//
// Faults of the file (see FileHealth): a batch that meets one fails as a
// whole with `unavailable`, and the store stays faulted until a write
// succeeds again. While faulted, the writer probes every `retry_interval`
// even without work, so the store recovers (and health() says so) once
// the fault is gone:
// - the file was deleted, renamed or replaced: nothing is written (it
//   would go to a file nobody opens again) until the same file is back at
//   its path; reads go on from the open file.
// - full disk: writes are tried as they come; reads go on.
// - I/O error or read-only file system: every connection is closed, so the
//   file system can be repaired and remounted under a running store, and
//   reopened (never created) at each retry; calls fail meanwhile.
// - corrupt file: the writer drops its cached pages and retries.
class Writer final : public Worker {
 public:
  Writer(Db db, Executor& completions, const SqliteStoreOptions& options, ReadConnections& readers,
         FileHealth& health);
  ~Writer() override;

 private:
  enum class Outcome { committed, retry_with_savepoints, file_fault };
  // A storage error seen by the writer, and what it calls for.
  struct FileFault {
    Status status;       // `unavailable`, naming the file and the cause
    bool close = false;  // I/O error, read-only: let go of the file
    bool corrupt = false;
  };
  void run_batch(std::size_t thread, std::vector<std::unique_ptr<Op>>& batch) override;
  std::optional<std::chrono::milliseconds> tick_interval() override;
  void tick() override;
  Outcome run_fast(std::vector<std::unique_ptr<Op>>& batch, std::optional<FileFault>& fault);
  // The fault that ended the batch, if one did (the caller fails all of it).
  std::optional<FileFault> run_with_savepoints(std::vector<std::unique_ptr<Op>>& batch);
  // Clears the room memo if another connection committed since last time.
  void check_foreign_commits();

  // The fault `failure` stands for: nullopt unless the connection's last
  // error is a storage error. Ask before anything else touches the
  // connection (a ROLLBACK would replace the error).
  std::optional<FileFault> classify(const Status& failure) const;
  void enter_fault(const FileFault& fault);
  // Ok when the file can be written now: reopens closed connections when a
  // retry is due, and refuses while the file is not at its path.
  Status ready();
  // A write that changes nothing: whether the file takes writes again.
  bool probe();
  void close_all();
  Status reopen_all();

  Db db_;
  const SqliteStoreOptions options_;
  ReadConnections& readers_;
  FileHealth& health_;
  std::int64_t data_version_ = -1;
  std::chrono::steady_clock::time_point next_retry_{};
};

// One read lane: `threads` threads, each with its connection (slots
// first_slot.. of `connections`), each read in its own read transaction:
// one consistent snapshot, started after the Op was dequeued, so it sees
// every write whose completion preceded the call. A read that fails on the
// file (I/O error, corrupt page) answers `unavailable`; while the writer
// has closed the connections, every read does.
class Reader final : public Worker {
 public:
  Reader(Executor& completions, ReadConnections& connections, std::size_t first_slot, std::size_t threads,
         std::size_t max_queued, FileHealth& health);
  ~Reader() override;

 private:
  void run_batch(std::size_t thread, std::vector<std::unique_ptr<Op>>& batch) override;
  ReadConnections& connections_;
  const std::size_t first_slot_;
  FileHealth& health_;
};

}  // namespace realtime::sqlite
