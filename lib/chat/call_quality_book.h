// CallQualityBook: the per-room summary of call quality that rtc:stats
// reports build (min, average and max of each figure, per participant and
// per ordered pair of participants), for the room's owner and the service
// (rtc:quality, GET /api/rooms/{id}/quality). In a cluster every node
// keeps the whole cluster's book: each report is applied where it arrived
// and on every node that hears it on the bus.
//
// Bounded: at most `max_rooms` rooms, the least recently reported
// forgotten first, and per room at most `max_participants` users reporting
// and max_participants * (max_participants - 1) pairs; a report past those
// is not kept (add() says so). Loop thread only.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "chat/lru_cache.h"
#include "realtime/call_quality.h"
#include "realtime/clock.h"
#include "realtime/json.h"

namespace realtime::chat {

class CallQualityBook {
 public:
  CallQualityBook(std::size_t max_rooms, std::size_t max_participants);

  // A report of `user` about its connection to `peer_user` (empty: no pair).
  // False when the room's summary had no place for it.
  bool add(const std::string& room, const std::string& user, const std::string& peer_user, const CallSample& s,
           Timestamp at);
  // {participants: [...], pairs: [...]}, empty lists for a room unknown.
  Json summary(const std::string& room);
  std::size_t rooms() const { return rooms_.size(); }

 private:
  struct Figure {
    double min = 0, max = 0, sum = 0;
    std::uint64_t n = 0;
    void add(const std::optional<double>& v);
    Json json() const;
  };
  struct Entry {
    std::uint64_t reports = 0;
    Figure rtt, loss, in, out, fps;
    Timestamp first{}, last{};
    void add(const CallSample& s, Timestamp at);
    void to(Json& out) const;
  };
  struct RoomBook {
    std::map<std::string, Entry> participants;                         // by user id
    std::map<std::pair<std::string, std::string>, Entry> pairs;        // (from, to) user ids
  };
  std::size_t max_participants_;
  LruCache<RoomBook> rooms_;
};

}  // namespace realtime::chat
