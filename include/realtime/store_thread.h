// StoreThread: one Store shared by several event loops of one process
// (chatd --threads). A Store expects its calls from one thread and posts
// its completions to one Executor; here that thread and that Executor are
// the StoreThread's own. Each loop gets a view, itself a Store, whose
// calls are handed to the thread and whose completions come back on the
// loop that made them. The store underneath is unchanged (SQLite,
// PostgreSQL, memory), and so are its guarantees.
//
// Bounded: at most max_queued calls of the views wait for the thread;
// past it a call fails at once with `unavailable` (the store's own bound,
// max_pending, still applies behind it).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

#include "realtime/event_loop.h"
#include "realtime/export.h"
#include "realtime/store.h"

namespace realtime {

class REALTIME_EXPORT StoreThread final : public Executor {
 public:
  explicit StoreThread(std::size_t max_queued = 1u << 20);  // starts the thread
  // Closes the store (if close() was not called) and joins the thread.
  // Destroy every view first.
  ~StoreThread() override;
  StoreThread(const StoreThread&) = delete;
  StoreThread& operator=(const StoreThread&) = delete;

  // The Executor to open the store with (open_sqlite_store(options,
  // thread)): its completions run on the thread. Any thread.
  void post(std::function<void()> task) override;
  // The store the views call; once, before the first view.
  void serve(std::unique_ptr<Store> store);
  // A Store for `loop`: call it on that loop's thread only; its
  // completions run there. Its close() does nothing (see close() below).
  // Its pending() counts its own calls until their completions have run, so
  // the views' gauges add up to the store's.
  std::unique_ptr<Store> view(Executor& loop);
  // Finishes what is queued, closes the store on its thread and waits for
  // that; later calls of the views fail with `unavailable`.
  void close();

  struct Shared;  // the queue, the thread and the store; views hold it too

 private:
  std::shared_ptr<Shared> shared_;
};

}  // namespace realtime
