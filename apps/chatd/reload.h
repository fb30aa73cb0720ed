// SIGHUP in chatd: re-read the configuration (same argv, the environment
// chatd started with, the --config file as it is now) and re-apply what can
// change without a restart, then log one line naming what was reloaded,
// what failed and which changed settings need a restart.
//
// main() calls block_hangup() before any thread exists, so every thread
// inherits a mask with SIGHUP blocked; HangupListener's thread then takes
// SIGHUP with sigwait() and parses the configuration there (the config file
// is read off the loop), and posts Reloader::reload() with the result to the
// loop. Reloader and its steps run on the loop thread only.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "log.h"
#include "options.h"
#include "realtime/status.h"

namespace chatd {

class Reloader {
 public:
  // Re-applies one part from the new configuration. Not ok: the part keeps
  // what it had, and the message is logged (never put secrets in it).
  using Step = std::function<realtime::Status(const Config&)>;

  // `current`: the configuration chatd runs with, the baseline for "changed".
  Reloader(ParsedConfig current, Log& log);

  // Adds a reload step named `name`; `settings` are the option names it
  // applies (a change to one of them needs no restart). Steps run in the
  // order added. Call before the first reload().
  void add(std::string name, std::vector<std::string> settings, Step step);

  // Runs every step with the configuration parsed again; logs one line. A
  // configuration that no longer parses changes nothing (logged as error).
  void reload(const realtime::Result<ParsedConfig>& parsed);

 private:
  struct Entry {
    std::string name;
    std::vector<std::string> settings;
    Step step;
  };
  ParsedConfig current_;
  Log& log_;
  std::vector<Entry> steps_;
};

// Blocks SIGHUP in the calling thread; threads started later inherit it.
// Call first thing in main().
void block_hangup();

// A thread that waits for SIGHUP (blocked everywhere by block_hangup()) and
// runs `on_hangup` on that thread for each (it may read files, then post to
// the loop). The destructor stops and joins it.
class HangupListener {
 public:
  explicit HangupListener(std::function<void()> on_hangup);
  ~HangupListener();
  HangupListener(const HangupListener&) = delete;
  HangupListener& operator=(const HangupListener&) = delete;

 private:
  std::atomic<bool> stopping_{false};  // set before the destructor's own SIGHUP wakes the thread
  std::thread thread_;
};

}  // namespace chatd
