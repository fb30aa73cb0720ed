// What a test subscription received, as "channel=payload" lines, for the
// bus tests. Test thread only.
#pragma once

#include <string>
#include <vector>

#include "realtime/bus.h"

namespace realtime::testing {

struct Inbox {
  std::vector<std::string> got;
  Bus::Handler handler() {
    return [this](std::string_view channel, std::string_view payload) {
      std::string line(channel);
      line += '=';
      line += payload;
      got.push_back(std::move(line));
    };
  }
};

}  // namespace realtime::testing
