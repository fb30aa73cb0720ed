// pg_throwaway: a PgCluster for tests in other languages (the Node
// end-to-end suite). Starts a throwaway PostgreSQL server, prints
//   ready port=<port> url=<libpq URI>
// and then obeys one command per line on stdin, answering "ok" or
// "err <reason>" on one line each:
//   stop fast | stop immediate   stop the server (pg_ctl stop -m ...)
//   start                        start it again (same directory and port)
//   sql <statements>             run SQL on database postgres
// End of input (or SIGTERM) stops the server and removes its directory;
// if this process dies, its server dies with it. Single-threaded.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>

#include "pg_cluster.h"

namespace {

volatile sig_atomic_t g_stop = 0;
void on_term(int) { g_stop = 1; }

void say(const std::string& line) { std::cout << line << std::endl; }

void answer(const realtime::Status& s) {
  if (s.ok()) return say("ok");
  std::string msg = s.message();
  for (char& c : msg)
    if (c == '\n') c = ' ';
  say("err " + msg);
}

}  // namespace

int main(int argc, char** argv) {
  realtime::testing::PgCluster::Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--durable") {
      options.durable = true;
    } else if (a == "--set" && i + 1 < argc) {
      options.settings.emplace_back(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [--durable] [--set name=value]...\n", argv[0]);
      return 2;
    }
  }
  std::signal(SIGTERM, on_term);
  std::signal(SIGINT, on_term);
  auto cluster = realtime::testing::PgCluster::start(options);
  if (!cluster.ok()) {
    std::fprintf(stderr, "pg_throwaway: %s\n", cluster.status().to_string().c_str());
    return 1;
  }
  auto& c = **cluster;
  say("ready port=" + std::to_string(c.port()) + " url=" + c.url());
  std::string line;
  while (!g_stop) {
    pollfd p{STDIN_FILENO, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    if (!std::getline(std::cin, line)) break;
    using Mode = realtime::testing::PgCluster::StopMode;
    if (line == "stop fast") {
      answer(c.stop(Mode::fast));
    } else if (line == "stop immediate") {
      answer(c.stop(Mode::immediate));
    } else if (line == "start") {
      answer(c.start_again());
    } else if (line.rfind("sql ", 0) == 0) {
      answer(c.exec(line.substr(4)));
    } else {
      say("err unknown command: " + line);
    }
  }
  return 0;  // ~PgCluster stops the server and removes the directory
}
