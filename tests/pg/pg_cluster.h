// PgCluster: a throwaway PostgreSQL server for tests and benchmarks. It
// runs initdb on a fresh temporary directory, starts `postgres` on a free
// loopback port (TCP only, no Unix socket), and on destruction stops it
// and removes the directory. Never a system service.
//
// PostgreSQL refuses to run as root; when this process is root, initdb
// and the server run as the `postgres` account that Debian's
// postgresql-common creates (scripts/install-deps.sh installs it). The
// server is this process's child with a parent-death signal (SIGQUIT, an
// immediate shutdown), so a test that crashes or is killed takes its
// server with it.
//
// Not thread-safe: one thread (the one that called start(), because the
// parent-death signal follows the thread that forked) drives it.
#pragma once

#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

#include "realtime/status.h"

namespace realtime::testing {

class PgCluster {
 public:
  struct Options {
    // fsync and full-page writes on (a benchmark's honest durability).
    // Off by default: tests only crash processes, never the machine, and
    // a process crash loses nothing the server committed either way.
    bool durable = false;
    // Extra "-c name=value" settings for the server.
    std::vector<std::string> settings;
  };
  enum class StopMode { fast, immediate };

  static Result<std::unique_ptr<PgCluster>> start(const Options& options);
  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  int port() const { return port_; }
  // A libpq URI for a database of this server (user postgres, no password).
  std::string url(const std::string& db = "postgres") const;
  const std::string& dir() const { return dir_; }

  // Stops the server: fast is what `pg_ctl stop -m fast` sends (SIGINT:
  // sessions end, a shutdown checkpoint), immediate what `-m immediate`
  // sends (SIGQUIT: every process exits at once; the next start recovers
  // from the WAL). Waits for the server to exit.
  Status stop(StopMode mode);
  // Starts it again on the same directory and port; waits until it
  // accepts connections.
  Status start_again();
  bool running() const { return pid_ > 0; }
  // Freezes every process of the server (SIGSTOP to the postmaster and
  // each of its children):
  // connections stay open and nothing answers, as when a host hangs.
  // resume() (SIGCONT) must follow; the destructor resumes too.
  void pause();
  void resume();

  // CPU seconds used so far by the server's processes that are alive now
  // (the postmaster and its children: sessions, WAL writer, checkpointer,
  // autovacuum), for benchmarks that ask where the time goes.
  double cpu_seconds() const;
  // Runs SQL on `db` (one or more statements), for setup and faults.
  Status exec(const std::string& sql, const std::string& db = "postgres") const;
  // The server's log so far (for failure messages).
  std::string log() const;

 private:
  PgCluster() = default;
  Status launch();
  // The postmaster and its children.
  std::vector<pid_t> processes() const;

  Options options_;
  std::string dir_;
  std::string bindir_;
  int port_ = 0;
  pid_t pid_ = -1;
  uid_t uid_ = 0;  // whom the server runs as (0: this process's user)
  gid_t gid_ = 0;
  bool paused_ = false;
  std::vector<pid_t> frozen_;
};

}  // namespace realtime::testing
