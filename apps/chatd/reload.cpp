// SIGHUP reloads; see reload.h. Reloader: loop thread. HangupListener: its
// own thread, which only waits for the signal and posts.
#include "reload.h"

#include <pthread.h>

#include <csignal>
#include <set>

namespace chatd {
namespace {

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

sigset_t hangup_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

Reloader::Reloader(ParsedConfig current, Log& log) : current_(std::move(current)), log_(log) {}

void Reloader::add(std::string name, std::vector<std::string> settings, Step step) {
  steps_.push_back(Entry{std::move(name), std::move(settings), std::move(step)});
}

void Reloader::reload(const realtime::Result<ParsedConfig>& parsed) {
  if (!parsed.ok()) {
    log_.error("SIGHUP: the configuration does not parse; nothing reloaded", {{"error", parsed.status().message()}});
    return;
  }
  std::vector<std::string> reloaded;
  std::vector<std::string> failed;
  std::set<std::string> covered;  // settings some step applies
  std::set<std::string> applied;  // ... and whose step succeeded
  for (const Entry& e : steps_) {
    covered.insert(e.settings.begin(), e.settings.end());
    realtime::Status s = e.step(parsed->config);
    if (s.ok()) {
      applied.insert(e.settings.begin(), e.settings.end());
      reloaded.push_back(e.name);
      log_.debug("SIGHUP: reload step done", {{"step", e.name}});
    } else {
      failed.push_back(e.name + " (" + s.message() + ")");
    }
  }
  // Names only: the values may be secrets.
  std::vector<std::string> restart;
  for (const auto& [name, text] : parsed->settings) {
    auto old = current_.settings.find(name);
    if (old != current_.settings.end() && old->second == text) continue;
    if (covered.count(name) == 0) restart.push_back(name);
  }
  std::string msg = "SIGHUP: reloaded: ";
  msg += reloaded.empty() ? "nothing" : join(reloaded);
  if (!failed.empty()) {
    msg += "; failed, kept the old: ";
    msg += join(failed);
  }
  if (!restart.empty()) {
    msg += "; not reloadable without restart: ";
    msg += join(restart);
  }
  if (failed.empty()) log_.info(msg, {{"reloaded", join(reloaded)}, {"needs_restart", join(restart)}});
  else log_.warn(msg, {{"reloaded", join(reloaded)}, {"failed", join(failed)}, {"needs_restart", join(restart)}});
  // A setting only a restart applies keeps counting as changed until then;
  // what was reloaded is the new baseline.
  for (const auto& [name, text] : parsed->settings)
    if (applied.count(name) != 0) current_.settings[name] = text;
}

void block_hangup() {
  sigset_t set = hangup_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

HangupListener::HangupListener(std::function<void()> on_hangup) {
  thread_ = std::thread([this, on_hangup = std::move(on_hangup)] {
    const sigset_t set = hangup_set();
    for (;;) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0) return;  // only EINVAL, which a fixed set cannot give
      if (stopping_.load()) return;
      on_hangup();
    }
  });
}

HangupListener::~HangupListener() {
  stopping_.store(true);
  pthread_kill(thread_.native_handle(), SIGHUP);
  thread_.join();
}

}  // namespace chatd
