// BlockingWorker: one background thread for blocking work (file I/O:
// attachments, static files), so the event loop never waits on disk. run()
// queues a job; the continuation it returns runs on the loop, through the
// Executor. Bounded: past max_queue, run() refuses (returns false) instead
// of growing. Destroying it finishes the queued jobs first.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "realtime/event_loop.h"

namespace realtime {

class BlockingWorker {
 public:
  explicit BlockingWorker(Executor& loop, std::size_t max_queue = 1024)
      : loop_(loop), max_queue_(max_queue), thread_([this] { main(); }) {}
  ~BlockingWorker() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  BlockingWorker(const BlockingWorker&) = delete;
  BlockingWorker& operator=(const BlockingWorker&) = delete;

  // `job` runs on the worker thread and returns the continuation to run on
  // the loop.
  bool run(std::function<std::function<void()>()> job) {
    {
      std::lock_guard lock(mu_);
      if (stopping_ || jobs_.size() >= max_queue_) return false;
      jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
    return true;
  }

 private:
  void main() {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      auto job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      loop_.post(job());
      lock.lock();
    }
  }

  Executor& loop_;
  std::size_t max_queue_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<std::function<void()>()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace realtime
