// A throwaway PostgreSQL server (see pg_cluster.h). Runs on the thread
// that drives the PgCluster; the server runs as a child process.
#include "pg_cluster.h"

#include "child_process.h"

#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace realtime::testing {
namespace {

using Clock = std::chrono::steady_clock;

bool is_exe(const std::string& p) { return access(p.c_str(), X_OK) == 0; }

// Where initdb and postgres live: $REALTIME_PG_BINDIR, else the directory
// CMake found them in (tests/pg/CMakeLists.txt, which package.deps checks).
std::string find_bindir() {
  if (const char* e = std::getenv("REALTIME_PG_BINDIR"); e != nullptr && is_exe(std::string(e) + "/initdb")) return e;
#ifdef REALTIME_PG_BINDIR_FOUND
  if (is_exe(std::string(REALTIME_PG_BINDIR_FOUND) + "/initdb")) return REALTIME_PG_BINDIR_FOUND;
#endif
  return "";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

Result<std::unique_ptr<PgCluster>> PgCluster::start(const Options& options) {
  std::unique_ptr<PgCluster> c(new PgCluster());
  c->options_ = options;
  c->bindir_ = find_bindir();
  if (c->bindir_.empty()) {
    return Status::unavailable("no PostgreSQL server binaries (initdb): run scripts/install-deps.sh "
                               "(postgresql-15) or set REALTIME_PG_BINDIR");
  }
  // The server's user must reach the directory: under /tmp when root.
  const char* base = std::getenv("TMPDIR");
  std::string pattern = (geteuid() != 0 && base != nullptr && *base != '\0' ? std::string(base) : "/tmp") +
                        "/realtime-pg-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) return Status::internal("mkdtemp failed for " + pattern);
  c->dir_ = pattern;
  if (geteuid() == 0) {
    const passwd* pw = getpwnam("postgres");
    if (pw == nullptr) {
      return Status::unavailable("running as root, and there is no 'postgres' user to run PostgreSQL as "
                                 "(postgresql-common creates it: run scripts/install-deps.sh)");
    }
    c->uid_ = pw->pw_uid;
    c->gid_ = pw->pw_gid;
    if (chown(c->dir_.c_str(), c->uid_, c->gid_) != 0) return Status::internal("cannot chown " + c->dir_);
  }
  const std::string initdb_log = c->dir_ + "/initdb.log";
  const pid_t init = spawn({c->bindir_ + "/initdb", "-D", c->dir_ + "/data", "-U", "postgres", "-A", "trust", "-E",
                            "UTF8", "--locale=C", "--no-sync", "--no-instructions"},
                           initdb_log, c->uid_, c->gid_, false);
  int st = 0;
  if (init < 0 || !wait_exit(init, std::chrono::seconds(120), &st) || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    return Status::internal("initdb failed in " + c->dir_ + ":\n" + read_file(initdb_log));
  }
  Status last;
  for (int attempt = 0; attempt < 5; ++attempt) {
    c->port_ = free_port();
    last = c->launch();
    if (last.ok()) return c;
  }
  return last;
}

PgCluster::~PgCluster() {
  resume();
  if (pid_ > 0) (void)stop(StopMode::fast);
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string PgCluster::url(const std::string& db) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + db;
}

std::string PgCluster::log() const { return read_file(dir_ + "/postgres.log"); }

Status PgCluster::launch() {
  std::vector<std::string> args = {bindir_ + "/postgres",
                                   "-D", dir_ + "/data",
                                   "-p", std::to_string(port_),
                                   "-c", "listen_addresses=127.0.0.1",
                                   "-c", "unix_socket_directories=",
                                   "-c", "max_connections=200",
                                   "-c", "logging_collector=off"};
  if (!options_.durable) {
    for (const char* s : {"fsync=off", "full_page_writes=off"}) {
      args.push_back("-c");
      args.push_back(s);
    }
  }
  for (const auto& s : options_.settings) {
    args.push_back("-c");
    args.push_back(s);
  }
  pid_ = spawn(args, dir_ + "/postgres.log", uid_, gid_, true);
  if (pid_ < 0) return Status::internal("fork failed");
  const std::string conninfo = url() + "?connect_timeout=2";
  const auto end = Clock::now() + std::chrono::seconds(60);
  while (Clock::now() < end) {
    if (PQping(conninfo.c_str()) == PQPING_OK) return {};
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return Status::unavailable("postgres exited at start (port " + std::to_string(port_) + "):\n" + log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid_, SIGQUIT);
  wait_exit(pid_, std::chrono::seconds(10));
  pid_ = -1;
  return Status::unavailable("postgres did not accept connections within 60 s:\n" + log());
}

Status PgCluster::stop(StopMode mode) {
  if (pid_ <= 0) return {};
  resume();
  kill(pid_, mode == StopMode::fast ? SIGINT : SIGQUIT);
  if (!wait_exit(pid_, std::chrono::seconds(60))) {
    kill(pid_, SIGKILL);
    wait_exit(pid_, std::chrono::seconds(10));
    pid_ = -1;
    return Status::internal("postgres did not stop within 60 s; killed");
  }
  pid_ = -1;
  return {};
}

std::vector<pid_t> PgCluster::processes() const {
  std::vector<pid_t> out;
  if (pid_ <= 0) return out;
  out.push_back(pid_);
  // Children lead their own sessions: found by parent pid.
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string stat = read_file(e.path().string() + "/stat");
    const auto close_paren = stat.rfind(')');
    if (close_paren == std::string::npos) continue;
    std::istringstream rest(stat.substr(close_paren + 2));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == pid_) out.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return out;
}

double PgCluster::cpu_seconds() const {
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  double total = 0;
  for (const pid_t p : processes()) {
    const std::string stat = read_file("/proc/" + std::to_string(p) + "/stat");
    const auto close_paren = stat.rfind(')');
    if (close_paren == std::string::npos) continue;
    std::istringstream rest(stat.substr(close_paren + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14) utime = std::atof(field.c_str());
      if (i == 15) stime = std::atof(field.c_str());
    }
    total += (utime + stime) / tick;
  }
  return total;
}

void PgCluster::pause() {
  if (pid_ <= 0 || paused_) return;
  // The postmaster first, so that it starts no new process meanwhile.
  kill(pid_, SIGSTOP);
  frozen_ = processes();
  for (const pid_t p : frozen_)
    if (p != pid_) kill(p, SIGSTOP);
  paused_ = true;
}

void PgCluster::resume() {
  if (!paused_) return;
  for (const pid_t p : frozen_) kill(p, SIGCONT);
  frozen_.clear();
  paused_ = false;
}

Status PgCluster::start_again() {
  if (pid_ > 0) return {};
  return launch();
}

Status PgCluster::exec(const std::string& sql, const std::string& db) const {
  const std::string conninfo = url(db) + "?connect_timeout=10";
  PGconn* c = PQconnectdb(conninfo.c_str());
  Status out;
  if (PQstatus(c) != CONNECTION_OK) {
    out = Status::unavailable(PQerrorMessage(c));
  } else {
    PGresult* r = PQexec(c, sql.c_str());
    const auto st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) out = Status::internal(PQresultErrorMessage(r));
    PQclear(r);
  }
  PQfinish(c);
  return out;
}

}  // namespace realtime::testing
