// BlockingWorker: jobs run off the loop thread, their continuations on it,
// the queue is bounded, and destruction finishes what was queued.
#include "realtime/blocking_worker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "realtime/in_process_transport.h"

namespace realtime {
namespace {

TEST(BlockingWorkerTest, JobRunsOffTheLoopAndItsContinuationOnIt) {
  InProcessTransport loop;
  BlockingWorker worker(loop);
  const auto loop_thread = std::this_thread::get_id();
  std::thread::id job_thread, continuation_thread;
  bool done = false;
  ASSERT_TRUE(worker.run([&] {
    job_thread = std::this_thread::get_id();
    return std::function<void()>([&] {
      continuation_thread = std::this_thread::get_id();
      done = true;
    });
  }));
  ASSERT_TRUE(loop.run_until([&] { return done; }));
  EXPECT_NE(job_thread, loop_thread);
  EXPECT_EQ(continuation_thread, loop_thread);
}

TEST(BlockingWorkerTest, RefusesPastItsQueueBound) {
  InProcessTransport loop;
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::promise<void> started;
  {
    BlockingWorker worker(loop, /*max_queue=*/1);
    ASSERT_TRUE(worker.run([&] {
      started.set_value();
      gate.wait();  // holds the thread so the next jobs stay queued
      return std::function<void()>([] {});
    }));
    ASSERT_EQ(started.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
    EXPECT_TRUE(worker.run([] { return std::function<void()>([] {}); })) << "one may wait";
    EXPECT_FALSE(worker.run([] { return std::function<void()>([] {}); })) << "the second may not";
    release.set_value();
  }
}

TEST(BlockingWorkerTest, DestructionFinishesQueuedJobs) {
  InProcessTransport loop;
  std::atomic<int> ran{0};
  {
    BlockingWorker worker(loop);
    for (int i = 0; i < 50; ++i)
      ASSERT_TRUE(worker.run([&] {
        ++ran;
        return std::function<void()>([] {});
      }));
  }
  EXPECT_EQ(ran.load(), 50);
}

}  // namespace
}  // namespace realtime
