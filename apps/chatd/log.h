// chatd's structured log: one line per event on stderr, either logfmt
//   ts=2026-11-22T10:30:00.123Z level=info msg="listening" port=8080
// or, with --log-format json, one JSON object per line
//   {"ts":"2026-11-22T10:30:00.123Z","level":"info","msg":"listening","port":"8080"}
// Called from the loop thread, main and the attachment worker; level and
// format are atomics so SIGHUP's reload (on the loop) may change them while
// another thread writes. Each line is one fputs, which stdio locks.
//
// Values are whatever the caller passes: callers must never pass tokens,
// keys or passwords (the chatd.log_secrets test greps a real run for them).
#pragma once

#include <atomic>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace chatd {

enum class Level { debug, info, warn, error };
enum class LogFormat { logfmt, json };

class Log {
 public:
  explicit Log(Level min = Level::info, LogFormat format = LogFormat::logfmt) : min_(min), format_(format) {}
  // "debug", "info", "warn", "error"; anything else is info (the options
  // check the text before it gets here).
  static Level parse(std::string_view s) {
    return s == "debug" ? Level::debug : s == "warn" ? Level::warn : s == "error" ? Level::error : Level::info;
  }
  // "logfmt" or "json"; nullopt for anything else.
  static std::optional<LogFormat> parse_format(std::string_view s);

  void set_level(Level min) { min_.store(min, std::memory_order_relaxed); }
  void set_format(LogFormat format) { format_.store(format, std::memory_order_relaxed); }
  Level level() const { return min_.load(std::memory_order_relaxed); }
  LogFormat format() const { return format_.load(std::memory_order_relaxed); }

  using Fields = std::initializer_list<std::pair<std::string_view, std::string>>;
  void debug(std::string_view msg, Fields f = {}) { write(Level::debug, msg, f); }
  void info(std::string_view msg, Fields f = {}) { write(Level::info, msg, f); }
  void warn(std::string_view msg, Fields f = {}) { write(Level::warn, msg, f); }
  void error(std::string_view msg, Fields f = {}) { write(Level::error, msg, f); }

  // The line write() would print, without the newline; for tests.
  static std::string format_line(LogFormat format, std::string_view ts, Level level, std::string_view msg, Fields fields);

 private:
  void write(Level level, std::string_view msg, Fields fields);
  std::atomic<Level> min_;
  std::atomic<LogFormat> format_;
};

}  // namespace chatd
