// chatd's structured log: one logfmt line per event on stderr,
//   ts=2026-11-22T10:30:00.123Z level=info msg="listening" port=8080
// Loop thread (and main) only; no locking needed.
#pragma once

#include <cstdio>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "realtime/clock.h"

namespace chatd {

enum class Level { debug, info, warn, error };

class Log {
 public:
  explicit Log(Level min = Level::info) : min_(min) {}
  static Level parse(std::string_view s) {
    return s == "debug" ? Level::debug : s == "warn" ? Level::warn : s == "error" ? Level::error : Level::info;
  }
  using Fields = std::initializer_list<std::pair<std::string_view, std::string>>;
  void debug(std::string_view msg, Fields f = {}) { write(Level::debug, msg, f); }
  void info(std::string_view msg, Fields f = {}) { write(Level::info, msg, f); }
  void warn(std::string_view msg, Fields f = {}) { write(Level::warn, msg, f); }
  void error(std::string_view msg, Fields f = {}) { write(Level::error, msg, f); }

 private:
  static void quoted(std::string& out, std::string_view v) {
    out += '"';
    for (char c : v) {
      if (c == '"' || c == '\\') out += '\\';
      out += c == '\n' ? ' ' : c;
    }
    out += '"';
  }
  void write(Level level, std::string_view msg, Fields fields) {
    if (level < min_) return;
    static constexpr const char* kNames[] = {"debug", "info", "warn", "error"};
    std::string line = "ts=" + realtime::format_iso8601(realtime::SystemClock{}.now()) + " level=" +
                       kNames[static_cast<int>(level)] + " msg=";
    quoted(line, msg);
    for (const auto& [k, v] : fields) {
      line += ' ';
      line += k;
      line += '=';
      if (v.find_first_of(" \"=") == std::string::npos && !v.empty()) line += v;
      else quoted(line, v);
    }
    line += '\n';
    std::fputs(line.c_str(), stderr);
  }
  Level min_;
};

}  // namespace chatd
