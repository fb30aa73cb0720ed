// The in-memory Store. Every call does its work at once on the calling (loop)
// thread and posts the completion, so callers see the same asynchrony as
// with a real backend. Message lookups by id go through an index of
// (room, seq); a room's messages sit in a vector indexed by seq - 1.
#include "realtime/memory_store.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <tuple>
#include <type_traits>
#include <unordered_map>

#include "core/search_words.h"

namespace realtime {
namespace {

class MemoryStore final : public Store {
 public:
  explicit MemoryStore(Executor& completions) : exec_(completions) {}

  void create_room(Room room, Completion<Room> done) override {
    if (refuse(done)) return;
    if (rooms_.contains(room.id)) return finish(done, Status::conflict("room " + room.id + " exists"));
    RoomRec rec;
    for (const auto& m : room.members) rec.reads[m.user_id] = 0;
    rec.room = std::move(room);
    auto& stored = rooms_.emplace(rec.room.id, std::move(rec)).first->second;
    finish(done, stored.room);
  }

  void get_room(std::string id, Completion<Room> done) override {
    if (refuse(done)) return;
    RoomRec* r = find(id);
    if (!r) return finish(done, not_found_room(id));
    finish(done, r->room);
  }

  void find_direct_room(std::string a, std::string b, Completion<Room> done) override {
    if (refuse(done)) return;
    const RoomRec* best = nullptr;
    for (const auto& [id, r] : rooms_) {
      const auto& ms = r.room.members;
      if (r.room.kind != RoomKind::direct || ms.size() != 2) continue;
      const bool match = (ms[0].user_id == a && ms[1].user_id == b) || (ms[0].user_id == b && ms[1].user_id == a);
      if (match && (!best || std::tie(r.room.created_at, r.room.id) > std::tie(best->room.created_at, best->room.id)))
        best = &r;
    }
    if (!best) return finish(done, Status::not_found("no direct room between " + a + " and " + b));
    finish(done, best->room);
  }

  void add_member(std::string room, Member member, Completion<Room> done) override {
    if (refuse(done)) return;
    RoomRec* r = find(room);
    if (!r) return finish(done, not_found_room(room));
    if (r->room.member(member.user_id))
      return finish(done, Status::conflict(member.user_id + " is already a member"));
    r->reads[member.user_id] = last_seq(*r);
    r->room.members.push_back(std::move(member));
    finish(done, r->room);
  }

  void remove_member(std::string room, std::string user_id, Completion<Room> done) override {
    if (refuse(done)) return;
    RoomRec* r = find(room);
    if (!r) return finish(done, not_found_room(room));
    auto& ms = r->room.members;
    auto it = std::find_if(ms.begin(), ms.end(), [&](const Member& m) { return m.user_id == user_id; });
    if (it == ms.end()) return finish(done, Status::not_found(user_id + " is not a member of " + room));
    ms.erase(it);
    r->reads.erase(user_id);
    finish(done, r->room);
  }

  void update_session(std::string room, RoomStatus status, std::optional<Timestamp> started_at,
                      std::optional<Timestamp> ended_at, Completion<Room> done) override {
    if (refuse(done)) return;
    RoomRec* r = find(room);
    if (!r) return finish(done, not_found_room(room));
    r->room.status = status;
    r->room.started_at = started_at;
    r->room.ended_at = ended_at;
    finish(done, r->room);
  }

  void set_join_secret(std::string room, std::string secret, std::optional<Timestamp> expires_at,
                       Completion<Room> done) override {
    if (refuse(done)) return;
    RoomRec* r = find(room);
    if (!r) return finish(done, not_found_room(room));
    r->room.join_secret = std::move(secret);
    r->room.join_expires_at = expires_at;
    finish(done, r->room);
  }

  void list_rooms(std::string user_id, Completion<std::vector<RoomSummary>> done) override {
    if (refuse(done)) return;
    std::vector<RoomSummary> out;
    for (const auto& [id, r] : rooms_) {
      if (!r.room.member(user_id)) continue;
      RoomSummary s{r.room, std::nullopt, unread(r, user_id)};
      if (!r.messages.empty()) s.last_message = r.messages.back();
      out.push_back(std::move(s));
    }
    auto activity = [](const RoomSummary& s) {
      return s.last_message ? s.last_message->created_at : s.room.created_at;
    };
    std::sort(out.begin(), out.end(), [&](const RoomSummary& x, const RoomSummary& y) {
      if (activity(x) != activity(y)) return activity(x) > activity(y);
      return x.room.id < y.room.id;
    });
    finish(done, std::move(out));
  }

  void append(NewMessage msg, Completion<Appended> done) override {
    if (refuse(done)) return;
    RoomRec* r = find(msg.room);
    if (!r) return finish(done, not_found_room(msg.room));
    if (msg.client_msg_id) {
      auto it = client_ids_.find({msg.sender_id, *msg.client_msg_id});
      if (it != client_ids_.end()) {
        const Message& prior = *lookup(it->second);
        if (prior.room != msg.room)
          return finish(done, Status::conflict("clientMsgId already used in another room"));
        return finish(done, Appended{prior, true});
      }
    }
    if (msg.reply_to) {
      const Message* target = lookup(*msg.reply_to);
      if (!target || target->room != msg.room)
        return finish(done, Status::bad_request("replyTo names no message of this room"));
    }
    Message m;
    m.id = "m" + std::to_string(next_id_++);
    m.room = msg.room;
    m.seq = last_seq(*r) + 1;
    m.sender_id = std::move(msg.sender_id);
    m.sender_name = std::move(msg.sender_name);
    m.sender_role = std::move(msg.sender_role);
    m.type = msg.type;
    m.text = std::move(msg.text);
    m.reply_to = std::move(msg.reply_to);
    m.attachment = std::move(msg.attachment);
    m.client_msg_id = std::move(msg.client_msg_id);
    m.created_at = msg.created_at;
    index_.emplace(m.id, std::make_pair(m.room, m.seq));
    if (m.client_msg_id) client_ids_.emplace(std::make_pair(m.sender_id, *m.client_msg_id), m.id);
    r->messages.push_back(std::move(m));
    finish(done, Appended{r->messages.back(), false});
  }

  void get_message(std::string id, Completion<Message> done) override {
    if (refuse(done)) return;
    const Message* m = lookup(id);
    if (!m) return finish(done, Status::not_found("no message " + id));
    finish(done, *m);
  }

  void edit_message(std::string id, std::string text, Timestamp edited_at, Completion<Message> done) override {
    if (refuse(done)) return;
    Message* m = lookup(id);
    if (!m || m->deleted) return finish(done, Status::not_found("no message " + id));
    m->text = std::move(text);
    m->edited_at = edited_at;
    finish(done, *m);
  }

  void delete_message(std::string id, Completion<Message> done) override {
    if (refuse(done)) return;
    Message* m = lookup(id);
    if (!m) return finish(done, Status::not_found("no message " + id));
    m->deleted = true;
    m->text.clear();
    m->attachment.reset();
    finish(done, *m);
  }

  void history(std::string room, HistoryQuery q, Completion<HistoryPage> done) override {
    if (refuse(done)) return;
    RoomRec* r = find(room);
    if (!r) return finish(done, not_found_room(room));
    const std::int64_t n = last_seq(*r);
    const std::int64_t limit = std::max(1, q.limit);
    // [lo, hi] is the inclusive seq range the page is cut from.
    std::int64_t lo = q.after ? std::max<std::int64_t>(*q.after, 0) + 1 : 1;
    std::int64_t hi = q.before ? std::min(*q.before - 1, n) : n;
    HistoryPage page;
    if (lo > hi) return finish(done, std::move(page));
    std::int64_t first, last;
    if (q.after) {  // travel forward from the older end
      first = lo;
      last = std::min(hi, lo + limit - 1);
      page.has_more = last < hi;
    } else {  // the newest end of the range
      last = hi;
      first = std::max(lo, hi - limit + 1);
      page.has_more = first > lo;
    }
    for (std::int64_t s = first; s <= last; ++s) page.messages.push_back(r->messages[static_cast<std::size_t>(s - 1)]);
    finish(done, std::move(page));
  }

  void search(std::string room, std::string query, int limit, Completion<std::vector<Message>> done) override {
    if (refuse(done)) return;
    RoomRec* r = find(room);
    if (!r) return finish(done, not_found_room(room));
    const auto terms = detail::search_words(query);
    std::vector<Message> out;
    for (auto it = r->messages.rbegin(); it != r->messages.rend() && !terms.empty(); ++it) {
      if (static_cast<int>(out.size()) >= limit) break;
      if (it->deleted) continue;
      const auto words = detail::search_words(it->text);
      const bool all = std::all_of(terms.begin(), terms.end(), [&](const std::string& t) {
        return std::any_of(words.begin(), words.end(), [&](const std::string& w) { return w.starts_with(t); });
      });
      if (all) out.push_back(*it);
    }
    finish(done, std::move(out));
  }

  void mark_read(std::string room, std::string user_id, std::int64_t seq, Completion<ReadMark> done) override {
    if (refuse(done)) return;
    RoomRec* r = find(room);
    if (!r) return finish(done, not_found_room(room));
    if (seq < 0 || seq > last_seq(*r)) return finish(done, Status::bad_request("seq is beyond the last message"));
    auto& p = r->reads[user_id];
    ReadMark mark{p, false};
    if (seq > p) {
      p = seq;
      mark = {seq, true};
    }
    finish(done, mark);
  }

  void read_state(std::string room, std::string user_id, Completion<ReadState> done) override {
    if (refuse(done)) return;
    RoomRec* r = find(room);
    if (!r) return finish(done, not_found_room(room));
    ReadState st;
    st.last_seq = last_seq(*r);
    st.unread = unread(*r, user_id);
    for (const auto& [u, s] : r->reads)
      if (r->room.member(u)) st.reads.push_back({u, s});  // one per member, as store.h says
    for (const auto& [u, at] : r->last_seen) st.last_seen.push_back({u, at});
    finish(done, std::move(st));
  }

  void set_last_seen(std::string room, std::string user_id, Timestamp at, StatusCompletion done) override {
    if (closed_) return post([done] { done(Status::unavailable("store is closed")); });
    RoomRec* r = find(room);
    if (!r) return post([done, room] { done(Status::not_found("no room " + room)); });
    Timestamp& seen = r->last_seen[user_id];
    seen = std::max(seen, at);  // never back: several nodes write (store.h)
    post([done] { done(Status{}); });
  }

  void add_reaction(std::string id, std::string user, std::string emoji, std::size_t max_emojis,
                    Completion<bool> done) override {
    if (refuse(done)) return;
    const Message* m = lookup(id);
    if (!m || m->deleted) return finish(done, Status::not_found("no message " + id));
    auto& list = reactions_[id];
    auto it = std::find_if(list.begin(), list.end(), [&](const auto& e) { return e.first == emoji; });
    if (it == list.end()) {
      if (list.size() >= max_emojis)
        return finish(done, Status::conflict("message " + id + " has " + std::to_string(max_emojis) +
                                             " different reactions already"));
      list.emplace_back(emoji, std::vector<std::string>{user});
      return finish(done, true);
    }
    if (std::find(it->second.begin(), it->second.end(), user) != it->second.end()) return finish(done, false);
    it->second.push_back(std::move(user));
    finish(done, true);
  }

  void remove_reaction(std::string id, std::string user, std::string emoji, Completion<bool> done) override {
    if (refuse(done)) return;
    if (!lookup(id)) return finish(done, Status::not_found("no message " + id));
    auto found = reactions_.find(id);
    if (found == reactions_.end()) return finish(done, false);
    auto& list = found->second;
    auto it = std::find_if(list.begin(), list.end(), [&](const auto& e) { return e.first == emoji; });
    if (it == list.end()) return finish(done, false);
    auto u = std::find(it->second.begin(), it->second.end(), user);
    if (u == it->second.end()) return finish(done, false);
    it->second.erase(u);
    if (it->second.empty()) list.erase(it);
    if (list.empty()) reactions_.erase(found);
    finish(done, true);
  }

  void reactions(std::vector<std::string> ids, std::string viewer, std::size_t list_users,
                 Completion<std::vector<MessageReactions>> done) override {
    if (refuse(done)) return;
    std::vector<MessageReactions> out;
    for (const auto& id : ids) {
      auto found = reactions_.find(id);
      if (found == reactions_.end()) continue;
      MessageReactions mr{id, {}};
      for (const auto& [emoji, users] : found->second) {
        ReactionCount c{emoji, static_cast<std::int64_t>(users.size()), false, {}};
        c.me = !viewer.empty() && std::find(users.begin(), users.end(), viewer) != users.end();
        c.users.assign(users.begin(), users.begin() + static_cast<std::ptrdiff_t>(std::min(list_users, users.size())));
        mr.reactions.push_back(std::move(c));
      }
      out.push_back(std::move(mr));
    }
    finish(done, std::move(out));
  }

  void set_member_role(std::string room, std::string user_id, std::string role, Completion<Room> done) override {
    if (refuse(done)) return;
    RoomRec* r = find(room);
    if (!r) return finish(done, not_found_room(room));
    auto& ms = r->room.members;
    auto it = std::find_if(ms.begin(), ms.end(), [&](const Member& m) { return m.user_id == user_id; });
    if (it == ms.end()) return finish(done, Status::not_found(user_id + " is not a member of " + room));
    it->role = std::move(role);
    finish(done, r->room);
  }

  void set_mute(std::string room, std::string user_id, std::optional<Timestamp> until,
                StatusCompletion done) override {
    RoomRec* r = closed_ ? nullptr : find(room);
    if (r) {
      if (until)
        r->mutes[user_id] = *until;
      else
        r->mutes.erase(user_id);
    }
    answer(done, room, r != nullptr);
  }

  void set_slow_mode(std::string room, int seconds, StatusCompletion done) override {
    RoomRec* r = closed_ ? nullptr : find(room);
    if (r) r->slow_mode = seconds;
    answer(done, room, r != nullptr);
  }

  void room_moderation(std::string room, Completion<RoomModeration> done) override {
    if (refuse(done)) return;
    RoomModeration m;
    if (RoomRec* r = find(room)) {
      m.slow_mode_seconds = r->slow_mode;
      for (const auto& [user, until] : r->mutes) m.mutes.push_back({user, until});
    }
    finish(done, std::move(m));
  }

  void append_audit(AuditEntry entry, Completion<AuditEntry> done) override {
    if (refuse(done)) return;
    entry.id = next_audit_id_++;
    audit_[entry.room].push_back(entry);
    finish(done, std::move(entry));
  }

  void audit_log(std::string room, std::optional<std::int64_t> before, int limit,
                 Completion<AuditPage> done) override {
    if (refuse(done)) return;
    AuditPage page;
    if (auto it = audit_.find(room); it != audit_.end()) {
      for (auto e = it->second.rbegin(); e != it->second.rend(); ++e) {
        if (before && e->id >= *before) continue;
        if (static_cast<int>(page.entries.size()) >= std::max(1, limit)) {
          page.has_more = true;
          break;
        }
        page.entries.push_back(*e);
      }
    }
    finish(done, std::move(page));
  }

  void set_ban(Ban ban, StatusCompletion done) override {
    if (!closed_) bans_[ban.user_id] = ban;
    answer(done, {}, true);
  }

  void remove_ban(std::string user_id, StatusCompletion done) override {
    if (closed_) return answer(done, {}, true);
    if (bans_.erase(user_id) == 0)
      return post([done, user_id] { done(Status::not_found(user_id + " is not banned")); });
    answer(done, {}, true);
  }

  void list_bans(Timestamp now, std::size_t limit, Completion<std::vector<Ban>> done) override {
    if (refuse(done)) return;
    std::vector<Ban> out;
    for (const auto& [user, b] : bans_)
      if (!b.until || *b.until > now) out.push_back(b);
    std::sort(out.begin(), out.end(), [](const Ban& x, const Ban& y) { return std::tie(x.at, x.user_id) > std::tie(y.at, y.user_id); });
    if (out.size() > limit) out.resize(limit);
    finish(done, std::move(out));
  }

  void flush(StatusCompletion done) override {
    post([done, closed = closed_.load()] { done(closed ? Status::unavailable("store is closed") : Status{}); });
  }
  void close() override { closed_ = true; }
  std::size_t pending() const override { return pending_.load(); }

 private:
  struct RoomRec {
    Room room;
    std::vector<Message> messages;  // messages[i].seq == i + 1
    std::map<std::string, std::int64_t> reads;  // ordered: read_state lists by user id
    std::map<std::string, Timestamp> last_seen;
    std::map<std::string, Timestamp> mutes;  // ordered: room_moderation lists by user id
    int slow_mode = 0;
  };

  static std::int64_t last_seq(const RoomRec& r) { return static_cast<std::int64_t>(r.messages.size()); }

  static std::int64_t unread(const RoomRec& r, const std::string& user_id) {
    auto it = r.reads.find(user_id);
    const std::int64_t from = it == r.reads.end() ? 0 : it->second;
    std::int64_t n = 0;
    for (auto m = r.messages.begin() + from; m != r.messages.end(); ++m)
      if (!m->deleted && m->sender_id != user_id) ++n;
    return n;
  }

  static Status not_found_room(const std::string& id) { return Status::not_found("no room " + id); }

  // A StatusCompletion: closed, an unknown room, or ok.
  void answer(const StatusCompletion& done, const std::string& room, bool found) {
    if (closed_) return post([done] { done(Status::unavailable("store is closed")); });
    if (!found) return post([done, room] { done(not_found_room(room)); });
    post([done] { done(Status{}); });
  }

  RoomRec* find(const std::string& id) {
    auto it = rooms_.find(id);
    return it == rooms_.end() ? nullptr : &it->second;
  }

  Message* lookup(const std::string& id) {
    auto it = index_.find(id);
    if (it == index_.end()) return nullptr;
    return &rooms_.at(it->second.first).messages[static_cast<std::size_t>(it->second.second - 1)];
  }

  void post(std::function<void()> fn) {
    ++pending_;
    exec_.post([this, fn = std::move(fn)] {
      --pending_;
      fn();
    });
  }

  template <class T>
  void finish(const Completion<T>& done, std::type_identity_t<Result<T>> result) {
    post([done, result = std::move(result)]() mutable { done(std::move(result)); });
  }

  template <class T>
  bool refuse(const Completion<T>& done) {
    if (!closed_) return false;
    finish(done, Result<T>(Status::unavailable("store is closed")));
    return true;
  }

  Executor& exec_;
  std::atomic<bool> closed_{false};
  std::atomic<std::size_t> pending_{0};
  std::uint64_t next_id_ = 1;
  std::unordered_map<std::string, RoomRec> rooms_;
  std::unordered_map<std::string, std::pair<std::string, std::int64_t>> index_;
  std::map<std::pair<std::string, std::string>, std::string> client_ids_;
  // message id -> (emoji, its users oldest first), emojis in the order added
  std::unordered_map<std::string, std::vector<std::pair<std::string, std::vector<std::string>>>> reactions_;
  std::int64_t next_audit_id_ = 1;
  std::unordered_map<std::string, std::vector<AuditEntry>> audit_;  // by room, oldest first
  std::unordered_map<std::string, Ban> bans_;                      // by user id
};

}  // namespace

std::unique_ptr<Store> make_memory_store(Executor& completions) {
  return std::make_unique<MemoryStore>(completions);
}

}  // namespace realtime
