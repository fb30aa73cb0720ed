// Completion: how every store call answers (see store.h's contract).
#pragma once

#include <functional>

#include "realtime/status.h"

namespace realtime {

template <class T>
using Completion = std::function<void(Result<T>)>;
using StatusCompletion = std::function<void(Status)>;

}  // namespace realtime
