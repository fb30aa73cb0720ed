// store_crash_writer: the victim of the crash test (crash_test.cpp).
// Appends messages to room "crash" of the SQLite store at argv[1], each
// with clientMsgId "<argv[2]>-<n>", keeping a window of appends in flight,
// and writes "ok <seq> <id> <clientMsgId>" to stdout the moment each
// completion runs, so the parent knows exactly what was acknowledged when
// it sends SIGKILL. One thread drives the loop; the store has its own.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "realtime/in_process_transport.h"
#include "realtime/sqlite_store.h"

namespace {

// One write(2) per line: a pipe write this small is atomic, so a kill
// never leaves half a line behind.
void say(const std::string& line) {
  const std::string s = line + "\n";
  if (::write(STDOUT_FILENO, s.data(), s.size()) != static_cast<ssize_t>(s.size())) std::_Exit(3);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace realtime;
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s <db> <tag> <count>\n", argv[0]);
    return 2;
  }
  const std::string tag = argv[2];
  const long count = std::strtol(argv[3], nullptr, 10);
  InProcessTransport loop;
  SqliteStoreOptions options;
  options.path = argv[1];
  // A process crash loses nothing committed even without fsync; NORMAL
  // keeps the test fast. Power cuts are docs/store.md's business.
  options.synchronous = SqliteSync::normal;
  auto opened = open_sqlite_store(options, loop);
  if (!opened.ok()) {
    say("err " + opened.status().to_string());
    return 1;
  }
  Store& store = **opened;
  bool failed = false;
  bool room_ready = false;
  Room room;
  room.id = "crash";
  room.members.push_back({"crash", "owner"});
  store.create_room(room, [&](Result<Room> r) {
    room_ready = true;
    if (!r.ok() && r.status().code() != StatusCode::conflict) {
      say("err " + r.status().to_string());
      failed = true;
    }
  });
  if (!loop.run_until([&] { return room_ready; }, std::chrono::seconds(30)) || failed) return 1;

  long issued = 0, completed = 0;
  std::function<void()> issue = [&] {
    NewMessage m;
    m.room = "crash";
    m.sender_id = "crash";
    m.text = "message " + std::to_string(issued);
    m.client_msg_id = tag + "-" + std::to_string(issued);
    ++issued;
    store.append(std::move(m), [&](Result<Appended> r) {
      ++completed;
      if (!r.ok()) {
        say("err " + r.status().to_string());
        failed = true;
        return;
      }
      say("ok " + std::to_string(r->message.seq) + " " + r->message.id + " " + *r->message.client_msg_id);
      if (issued < count) issue();
    });
  };
  // A small window: many small commits, so kills land inside commits often
  // and the file stays small enough to check quickly after every kill.
  constexpr long kInFlight = 8;
  for (long i = 0; i < kInFlight && issued < count; ++i) issue();
  loop.run_until([&] { return failed || completed == count; }, std::chrono::seconds(60));
  store.close();
  loop.run_until_idle();
  say(failed ? "failed" : "done");
  return failed ? 1 : 0;
}
