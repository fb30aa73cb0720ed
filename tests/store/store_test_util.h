// Helpers shared by the store tests: a loop to receive completions on
// (InProcessTransport, driven by the test thread), synchronous wrappers
// around each Store call, temporary directories, and the list of backends
// the conformance suite runs against. Test thread only.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "realtime/in_process_transport.h"
#include "realtime/store.h"
#include "test_util.h"

namespace realtime {
// Readable gtest failure output for the store's value types.
inline void PrintTo(const ReadPointer& p, std::ostream* os) { *os << "{" << p.user_id << "," << p.seq << "}"; }
inline void PrintTo(const LastSeen& p, std::ostream* os) {
  *os << "{" << p.user_id << "," << p.at.time_since_epoch().count() << "}";
}
inline void PrintTo(const Member& m, std::ostream* os) { *os << "{" << m.user_id << "," << m.role << "}"; }
inline void PrintTo(const Message& m, std::ostream* os) {
  *os << "{" << m.id << " " << m.room << "#" << m.seq << " " << m.sender_id << ": \"" << m.text << "\""
      << (m.deleted ? " deleted" : "") << "}";
}
inline void PrintTo(const Room& r, std::ostream* os) {
  *os << "{room " << r.id << ", " << r.members.size() << " members}";
}
}  // namespace realtime

namespace realtime::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct Backend {
  std::string name;
  // Builds a store whose files (if any) live in `dir`.
  std::function<std::unique_ptr<Store>(Executor&, const std::string& dir)> make;
};
std::vector<Backend> all_backends();
inline void PrintTo(const Backend& b, std::ostream* os) { *os << b.name; }

inline constexpr std::chrono::seconds kWaitLimit{20};

// Starts a call with a completion and runs the loop until it fires.
// Fails the test if the completion ran inside the call or never ran.
template <class T, class Start>
Result<T> await(InProcessTransport& loop, Start&& start) {
  std::optional<Result<T>> out;
  start([&out](Result<T> r) { out.emplace(std::move(r)); });
  EXPECT_FALSE(out.has_value()) << "completion ran inside the call";
  if (!loop.run_until([&] { return out.has_value(); }, kWaitLimit)) {
    ADD_FAILURE() << "completion never ran";
    return Status::internal("test: completion never ran");
  }
  return std::move(*out);
}

inline Status await_status(InProcessTransport& loop, const std::function<void(StatusCompletion)>& start) {
  std::optional<Status> out;
  start([&out](Status s) { out.emplace(std::move(s)); });
  EXPECT_FALSE(out.has_value()) << "completion ran inside the call";
  if (!loop.run_until([&] { return out.has_value(); }, kWaitLimit)) {
    ADD_FAILURE() << "completion never ran";
    return Status::internal("test: completion never ran");
  }
  return *out;
}

// Synchronous access to a Store for tests: each call waits for its own
// completion on `loop`.
class SyncStore {
 public:
  SyncStore(InProcessTransport& loop, Store& store) : loop_(loop), store_(store) {}

  Result<Room> create_room(Room r) {
    return await<Room>(loop_, [&](auto done) { store_.create_room(std::move(r), done); });
  }
  Result<Room> get_room(const std::string& id) {
    return await<Room>(loop_, [&](auto done) { store_.get_room(id, done); });
  }
  Result<Room> find_direct_room(const std::string& a, const std::string& b) {
    return await<Room>(loop_, [&](auto done) { store_.find_direct_room(a, b, done); });
  }
  Result<Room> add_member(const std::string& room, Member m) {
    return await<Room>(loop_, [&](auto done) { store_.add_member(room, std::move(m), done); });
  }
  Result<Room> remove_member(const std::string& room, const std::string& user) {
    return await<Room>(loop_, [&](auto done) { store_.remove_member(room, user, done); });
  }
  Result<Room> update_session(const std::string& room, RoomStatus st, std::optional<Timestamp> started,
                              std::optional<Timestamp> ended) {
    return await<Room>(loop_, [&](auto done) { store_.update_session(room, st, started, ended, done); });
  }
  Result<Room> set_join_secret(const std::string& room, const std::string& secret, std::optional<Timestamp> expires) {
    return await<Room>(loop_, [&](auto done) { store_.set_join_secret(room, secret, expires, done); });
  }

  Result<std::vector<RoomSummary>> list_rooms(const std::string& user) {
    return await<std::vector<RoomSummary>>(loop_, [&](auto done) { store_.list_rooms(user, done); });
  }
  Result<Appended> append(NewMessage m) {
    return await<Appended>(loop_, [&](auto done) { store_.append(std::move(m), done); });
  }
  Result<Message> get_message(const std::string& id) {
    return await<Message>(loop_, [&](auto done) { store_.get_message(id, done); });
  }
  Result<Message> edit_message(const std::string& id, const std::string& text, Timestamp at) {
    return await<Message>(loop_, [&](auto done) { store_.edit_message(id, text, at, done); });
  }
  Result<Message> delete_message(const std::string& id) {
    return await<Message>(loop_, [&](auto done) { store_.delete_message(id, done); });
  }
  Result<HistoryPage> history(const std::string& room, HistoryQuery q) {
    return await<HistoryPage>(loop_, [&](auto done) { store_.history(room, q, done); });
  }
  Result<std::vector<Message>> search(const std::string& room, const std::string& q, int limit = 50) {
    return await<std::vector<Message>>(loop_, [&](auto done) { store_.search(room, q, limit, done); });
  }
  Result<ReadMark> mark_read(const std::string& room, const std::string& user, std::int64_t seq) {
    return await<ReadMark>(loop_, [&](auto done) { store_.mark_read(room, user, seq, done); });
  }
  Result<ReadState> read_state(const std::string& room, const std::string& user) {
    return await<ReadState>(loop_, [&](auto done) { store_.read_state(room, user, done); });
  }
  Status set_last_seen(const std::string& room, const std::string& user, Timestamp at) {
    return await_status(loop_, [&](StatusCompletion done) { store_.set_last_seen(room, user, at, done); });
  }
  Status flush() {
    return await_status(loop_, [&](StatusCompletion done) { store_.flush(done); });
  }

 private:
  InProcessTransport& loop_;
  Store& store_;
};

// Values used across the suites.

inline Timestamp at_ms(std::int64_t ms) {
  return Timestamp{std::chrono::milliseconds{1'800'000'000'000 + ms}};
}

inline Room make_room(const std::string& id, std::vector<std::string> users, RoomKind kind = RoomKind::group,
                      std::int64_t created = 0) {
  Room r;
  r.id = id;
  r.kind = kind;
  r.title = "Room " + id;
  r.created_by = users.empty() ? "" : users.front();
  r.created_at = at_ms(created);
  r.started_at = r.created_at;
  for (std::size_t i = 0; i < users.size(); ++i) r.members.push_back({users[i], i == 0 ? "owner" : "member"});
  return r;
}

inline NewMessage make_msg(const std::string& room, const std::string& sender, const std::string& text,
                           std::int64_t created = 0) {
  NewMessage m;
  m.room = room;
  m.sender_id = sender;
  m.sender_name = "Name of " + sender;
  m.sender_role = "member";
  m.text = text;
  m.created_at = at_ms(created);
  return m;
}

}  // namespace realtime::testing
