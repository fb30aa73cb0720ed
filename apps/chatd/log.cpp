// chatd's log lines in logfmt and JSON; see log.h. Any thread.
#include "log.h"

#include <cstdio>

#include "realtime/clock.h"
#include "realtime/json.h"

namespace chatd {
namespace {

constexpr const char* kLevelNames[] = {"debug", "info", "warn", "error"};

void quoted(std::string& out, std::string_view v) {
  out += '"';
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    // A line break would let a value forge a line of its own.
    out += c == '\n' || c == '\r' ? ' ' : c;
  }
  out += '"';
}

}  // namespace

std::optional<LogFormat> Log::parse_format(std::string_view s) {
  if (s == "logfmt") return LogFormat::logfmt;
  if (s == "json") return LogFormat::json;
  return std::nullopt;
}

std::string Log::format_line(LogFormat format, std::string_view ts, Level level, std::string_view msg, Fields fields) {
  const char* level_name = kLevelNames[static_cast<int>(level)];
  std::string line;
  if (format == LogFormat::json) {
    // Json's encoder escapes control characters and quotes; keys are ours.
    realtime::Json::Object o;
    o.reserve(fields.size() + 3);
    o.emplace_back("ts", realtime::Json(ts));
    o.emplace_back("level", realtime::Json(level_name));
    o.emplace_back("msg", realtime::Json(msg));
    for (const auto& [k, v] : fields) o.emplace_back(std::string(k), realtime::Json(v));
    realtime::Json(std::move(o)).dump_to(line);
    return line;
  }
  line += "ts=";
  line += ts;
  line += " level=";
  line += level_name;
  line += " msg=";
  quoted(line, msg);
  for (const auto& [k, v] : fields) {
    line += ' ';
    line += k;
    line += '=';
    if (v.find_first_of(" \"=\n\r") == std::string::npos && !v.empty()) line += v;
    else quoted(line, v);
  }
  return line;
}

void Log::write(Level level, std::string_view msg, Fields fields) {
  if (level < this->level()) return;
  std::string line = format_line(format(), realtime::format_iso8601(realtime::SystemClock{}.now()), level, msg, fields);
  line += '\n';
  std::fputs(line.c_str(), stderr);
}

}  // namespace chatd
