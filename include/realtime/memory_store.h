// The in-memory Store: for tests, examples and deployments that need no
// history across restarts. Completions are posted to the given Executor.
#pragma once

#include <memory>

#include "realtime/clock.h"
#include "realtime/event_loop.h"
#include "realtime/export.h"
#include "realtime/store.h"

namespace realtime {

// `completions` must outlive the store.
REALTIME_EXPORT std::unique_ptr<Store> make_memory_store(Executor& completions);

}  // namespace realtime
