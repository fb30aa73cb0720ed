// LastSeenCache: the lastSeen values this process wrote, kept exactly as
// long as a store read might still miss them.
//
// A presence read (read_state) can start before a lastSeen write commits
// and answer after it, with the row as it was (the SQLite store reads and
// writes on different threads). So the service keeps each value it set and
// prefers it to the store's. It may forget it once the write has completed
// and every read issued before that completion has answered: any later
// read sees the row. Memory is therefore bounded by the writes and reads
// in flight, not by the rooms and users ever seen.
//
// Usage: begin_read() before each read_state call and end_read() after its
// answer was used; set() when a write is issued and written() when it
// completes (whatever its outcome). Loop thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

#include "realtime/clock.h"

namespace realtime::chat {

class LastSeenCache {
 public:
  std::uint64_t begin_read() {
    reads_.insert(++next_read_);
    return next_read_;
  }
  void end_read(std::uint64_t ticket) {
    reads_.erase(ticket);
    prune();
  }

  void set(const std::string& room, const std::string& user, Timestamp at) { values_[room][user] = at; }
  void written(const std::string& room, const std::string& user, Timestamp at) {
    // Reads issued up to now may have missed the write; later ones cannot.
    done_.push_back(Done{room, user, at, next_read_});
    prune();
  }

  std::optional<Timestamp> find(std::string_view room, std::string_view user) const {
    auto r = values_.find(std::string(room));
    if (r == values_.end()) return std::nullopt;
    auto u = r->second.find(std::string(user));
    if (u == r->second.end()) return std::nullopt;
    return u->second;
  }

  // Values held (for tests and monitoring).
  std::size_t size() const {
    std::size_t n = 0;
    for (const auto& [room, users] : values_) n += users.size();
    return n;
  }

 private:
  struct Done {
    std::string room, user;
    Timestamp at;
    std::uint64_t last_read_before;  // reads with a ticket up to this may not see it
  };
  void prune() {
    while (!done_.empty() && (reads_.empty() || *reads_.begin() > done_.front().last_read_before)) {
      const Done& d = done_.front();
      if (auto r = values_.find(d.room); r != values_.end()) {
        // A newer value for the same user has its own entry further on.
        if (auto u = r->second.find(d.user); u != r->second.end() && u->second == d.at) r->second.erase(u);
        if (r->second.empty()) values_.erase(r);
      }
      done_.pop_front();
    }
  }

  std::unordered_map<std::string, std::unordered_map<std::string, Timestamp>> values_;
  std::deque<Done> done_;       // completed writes, in completion order
  std::set<std::uint64_t> reads_;  // reads in flight
  std::uint64_t next_read_ = 0;
};

}  // namespace realtime::chat
