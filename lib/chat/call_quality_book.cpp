// CallQualityBook: see call_quality_book.h.
#include "chat/call_quality_book.h"

#include <algorithm>

namespace realtime::chat {

CallQualityBook::CallQualityBook(std::size_t max_rooms, std::size_t max_participants)
    : max_participants_(max_participants), rooms_(std::max<std::size_t>(1, max_rooms)) {}

void CallQualityBook::Figure::add(const std::optional<double>& v) {
  if (!v) return;
  min = n == 0 ? *v : std::min(min, *v);
  max = n == 0 ? *v : std::max(max, *v);
  sum += *v;
  ++n;
}

Json CallQualityBook::Figure::json() const {
  if (n == 0) return Json();
  // Averages rounded to a tenth, like the figures clients send.
  const double avg = static_cast<double>(static_cast<long long>(sum / static_cast<double>(n) * 10 + 0.5)) / 10;
  return Json::object({{"min", min}, {"avg", avg}, {"max", max}});
}

void CallQualityBook::Entry::add(const CallSample& s, Timestamp at) {
  if (reports++ == 0) first = at;
  last = at;
  rtt.add(s.rtt_ms);
  loss.add(s.loss_pct);
  in.add(s.kbps_in);
  out.add(s.kbps_out);
  fps.add(s.fps);
}

void CallQualityBook::Entry::to(Json& o) const {
  o.set("reports", static_cast<long long>(reports));
  o.set("firstAt", format_iso8601(first));
  o.set("lastAt", format_iso8601(last));
  o.set("rttMs", rtt.json());
  o.set("lossPct", loss.json());
  o.set("kbpsIn", in.json());
  o.set("kbpsOut", out.json());
  o.set("fps", fps.json());
}

bool CallQualityBook::add(const std::string& room, const std::string& user, const std::string& peer_user,
                          const CallSample& s, Timestamp at) {
  RoomBook* book = rooms_.find(room);
  if (!book) book = &rooms_.put(room, RoomBook{}, 1);
  auto p = book->participants.find(user);
  if (p == book->participants.end()) {
    if (book->participants.size() >= max_participants_) return false;
    p = book->participants.emplace(user, Entry{}).first;
  }
  p->second.add(s, at);
  if (peer_user.empty()) return true;
  auto key = std::make_pair(user, peer_user);
  auto q = book->pairs.find(key);
  if (q == book->pairs.end()) {
    if (book->pairs.size() >= max_participants_ * (max_participants_ - 1)) return false;  // n users, n(n-1) pairs
    q = book->pairs.emplace(std::move(key), Entry{}).first;
  }
  q->second.add(s, at);
  return true;
}

Json CallQualityBook::summary(const std::string& room) {
  Json participants = Json::array();
  Json pairs = Json::array();
  if (const RoomBook* book = rooms_.find(room)) {
    for (const auto& [user, e] : book->participants) {
      Json o = Json::object({{"userId", user}});
      e.to(o);
      participants.push(std::move(o));
    }
    for (const auto& [key, e] : book->pairs) {
      Json o = Json::object({{"from", key.first}, {"to", key.second}});
      e.to(o);
      pairs.push(std::move(o));
    }
  }
  return Json::object({{"participants", std::move(participants)}, {"pairs", std::move(pairs)}});
}

}  // namespace realtime::chat
