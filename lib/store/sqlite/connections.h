// What the SQLite store's threads share besides their queues: the read
// connections (which the writer closes and reopens when the file system
// fails) and the health of the file (why writes fail now, if they do).
// The writer thread changes both; read threads and the loop read them.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <vector>

#include "realtime/status.h"
#include "store/sqlite/db.h"

namespace realtime::sqlite {

// One connection per read thread. A read thread holds a Use while it runs
// a read on its slot; the writer holds an Exclusive while it closes or
// reopens them all, so no read runs on a connection being replaced. The
// writer goes first: once it waits, new readers wait for it (reads come
// all the time; a reader-first lock could starve the writer for good).
class ReadConnections {
 public:
  explicit ReadConnections(std::vector<Db> dbs) : dbs_(std::move(dbs)) {}

  class [[nodiscard]] Use {
   public:
    explicit Use(ReadConnections& c) : c_(c) { c_.enter(false); }
    ~Use() { c_.leave(false); }
    Use(const Use&) = delete;
    Use& operator=(const Use&) = delete;

   private:
    ReadConnections& c_;
  };
  class [[nodiscard]] Exclusive {
   public:
    explicit Exclusive(ReadConnections& c) : c_(c) { c_.enter(true); }
    ~Exclusive() { c_.leave(true); }
    Exclusive(const Exclusive&) = delete;
    Exclusive& operator=(const Exclusive&) = delete;

   private:
    ReadConnections& c_;
  };

  // Under a Use or an Exclusive.
  Db& at(std::size_t slot) { return dbs_.at(slot); }
  std::size_t size() const { return dbs_.size(); }

 private:
  void enter(bool exclusive) {
    std::unique_lock lock(mu_);
    if (exclusive) {
      ++writers_waiting_;
      cv_.wait(lock, [&] { return readers_ == 0 && !writer_; });
      --writers_waiting_;
      writer_ = true;
    } else {
      cv_.wait(lock, [&] { return writers_waiting_ == 0 && !writer_; });
      ++readers_;
    }
  }
  void leave(bool exclusive) {
    {
      std::lock_guard lock(mu_);
      if (exclusive)
        writer_ = false;
      else
        --readers_;
    }
    cv_.notify_all();
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::size_t readers_ = 0;
  std::size_t writers_waiting_ = 0;
  bool writer_ = false;
  std::vector<Db> dbs_;
};

// Ok while the store can write its file; otherwise the `unavailable`
// Status saying why (the cause, and what brings it back).
class FileHealth {
 public:
  Status get() const {
    if (!faulted_.load(std::memory_order_acquire)) return {};
    std::lock_guard lock(mu_);
    return fault_;
  }
  bool faulted() const { return faulted_.load(std::memory_order_acquire); }
  void set(Status fault) {
    std::lock_guard lock(mu_);
    fault_ = std::move(fault);
    faulted_.store(!fault_.ok(), std::memory_order_release);
  }
  void clear() { set({}); }

 private:
  mutable std::mutex mu_;
  Status fault_;
  std::atomic<bool> faulted_{false};
};

}  // namespace realtime::sqlite
