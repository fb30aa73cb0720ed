// The shared runs of store_bench (see common.h). Bench thread only.
#include "common.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace bench {

using namespace realtime;

namespace {

// CPU seconds used so far by each thread of this process (Linux /proc),
// busiest first: tells the writer's cost per message apart from the
// loop's, whatever else the shared machine is running.
std::map<std::string, double> thread_cpu() {
  std::map<std::string, double> out;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream f(e.path() / "stat");
    std::string line;
    std::getline(f, line);
    std::istringstream rest(line.substr(line.rfind(')') + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14) utime = std::atof(field.c_str());
      if (i == 15) stime = std::atof(field.c_str());
    }
    out[e.path().filename().string()] = (utime + stime) / tick;
  }
  return out;
}

// Per-thread CPU used between two snapshots, busiest first.
std::vector<double> cpu_deltas(const std::map<std::string, double>& before, const std::map<std::string, double>& after) {
  std::vector<double> out;
  for (const auto& [tid, t] : after) {
    auto it = before.find(tid);
    out.push_back(t - (it == before.end() ? 0.0 : it->second));
  }
  std::sort(out.rbegin(), out.rend());
  return out;
}

}  // namespace

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

void create_rooms(InProcessTransport& loop, Store& store, const std::string& prefix, int n) {
  int done = 0;
  for (int i = 0; i < n; ++i) {
    Room r;
    r.id = prefix + std::to_string(i);
    r.members = {{"ann", "owner"}, {"bob", "member"}};
    store.create_room(r, [&](Result<Room> res) {
      if (!res.ok()) std::fprintf(stderr, "create_room: %s\n", res.status().to_string().c_str());
      ++done;
    });
  }
  loop.run_until([&] { return done == n; }, std::chrono::minutes(5));
}

NewMessage message(const std::string& room, long i) {
  NewMessage m;
  m.room = room;
  m.sender_id = i % 2 ? "ann" : "bob";
  m.sender_name = m.sender_id;
  m.sender_role = "member";
  m.text = "message number " + std::to_string(i) + " about the lesson on fractions and decimals";
  m.created_at = Timestamp{std::chrono::milliseconds{1'800'000'000'000 + i}};
  return m;
}

double insert_run(InProcessTransport& loop, Store& store, long n, const std::function<std::string(long)>& room_of,
                  const CpuMeter& server, long window) {
  long issued = 0, done = 0, failed = 0;
  std::function<void()> issue = [&] {
    const long i = issued++;
    store.append(message(room_of(i), i), [&](Result<Appended> r) {
      ++done;
      failed += r.ok() ? 0 : 1;
      if (issued < n) issue();
    });
  };
  const auto cpu_before = thread_cpu();
  const double server_before = server ? server() : 0.0;
  const auto start = Clock::now();
  for (long i = 0; i < window && issued < n; ++i) issue();
  loop.run_until([&] { return done == n; }, std::chrono::minutes(10));
  const double secs = seconds_since(start);
  const auto used = cpu_deltas(cpu_before, thread_cpu());
  const double per_msg = 1e6 / static_cast<double>(n);
  std::printf("  %.2f s wall; CPU per message: busiest thread %.1f us, next %.1f us (writer and loop)\n", secs,
              used.size() > 0 ? used[0] * per_msg : 0.0, used.size() > 1 ? used[1] * per_msg : 0.0);
  if (server) std::printf("  database server CPU per message: %.1f us\n", (server() - server_before) * per_msg);
  if (failed > 0 || done != n) std::fprintf(stderr, "insert run: %ld failed, %ld/%ld done\n", failed, done, n);
  return static_cast<double>(n) / secs;
}

Latency summarize(std::vector<double> us) {
  std::sort(us.begin(), us.end());
  return {us[us.size() / 2], us[std::min(us.size() - 1, us.size() * 99 / 100)]};
}

Latency history_run(InProcessTransport& loop, Store& store, const std::string& room, long last_seq, int samples) {
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<long> cursor(51, last_seq + 1);
  std::vector<double> us;
  us.reserve(static_cast<std::size_t>(samples));
  for (int i = 0; i < samples; ++i) {
    bool done = false;
    std::size_t got = 0;
    const auto t = Clock::now();
    store.history(room, HistoryQuery{cursor(rng), std::nullopt, 50}, [&](Result<HistoryPage> p) {
      done = true;
      got = p.ok() ? p->messages.size() : 0;
    });
    loop.run_until([&] { return done; }, std::chrono::seconds(10));
    us.push_back(seconds_since(t) * 1e6);
    if (got != 50) std::fprintf(stderr, "history page had %zu messages\n", got);
  }
  return summarize(std::move(us));
}

}  // namespace bench
