// A throwaway redis-server (see redis_server.h).
#include "redis_server.h"

#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "child_process.h"

namespace realtime::testing {
namespace {

using Clock = std::chrono::steady_clock;

// $REALTIME_REDIS_SERVER, else what CMake found (tests/bus/CMakeLists.txt,
// where package.deps sees it).
std::string server_path() {
  if (const char* e = std::getenv("REALTIME_REDIS_SERVER"); e != nullptr && access(e, X_OK) == 0) return e;
#ifdef REALTIME_REDIS_SERVER_FOUND
  if (access(REALTIME_REDIS_SERVER_FOUND, X_OK) == 0) return REALTIME_REDIS_SERVER_FOUND;
#endif
  return "";
}

// One command on a fresh connection; null when the server does not answer.
redisReply* command_once(int port, const char* fmt, const std::string& arg) {
  timeval tv{1, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
  if (c == nullptr || c->err != 0) {
    if (c != nullptr) redisFree(c);
    return nullptr;
  }
  redisSetTimeout(c, tv);
  auto* r = static_cast<redisReply*>(redisCommand(c, fmt, arg.data(), arg.size()));
  redisFree(c);
  return r;
}

bool answers_ping(int port) {
  redisReply* r = command_once(port, "PING %b", std::string("x"));
  const bool ok = r != nullptr && r->type == REDIS_REPLY_STRING;
  if (r != nullptr) freeReplyObject(r);
  return ok;
}

}  // namespace

Result<std::unique_ptr<RedisServer>> RedisServer::start() {
  if (server_path().empty()) return Status::unavailable("redis-server not found (scripts/install-deps.sh installs it)");
  std::unique_ptr<RedisServer> s(new RedisServer());
  char tmpl[] = "/tmp/realtime-redis-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return Status::internal("mkdtemp failed");
  s->dir_ = tmpl;
  Status last = Status::internal("no attempt");
  for (int attempt = 0; attempt < 5; ++attempt) {
    s->port_ = free_port();
    last = s->launch();
    if (last.ok()) return s;
  }
  return last;
}

Status RedisServer::launch() {
  pid_ = spawn({server_path(), "--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                "no", "--dir", dir_, "--daemonize", "no"},
               dir_ + "/redis.log", 0, 0, true);
  if (pid_ < 0) return Status::internal("fork failed");
  const auto end = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < end) {
    if (answers_ping(port_)) return {};
    if (wait_exit(pid_, std::chrono::milliseconds(0))) {
      pid_ = -1;
      std::string why = "redis-server exited at start: ";
      why += log();
      return Status::unavailable(why);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill();
  return Status::unavailable("redis-server did not answer within 10 s");
}

RedisServer::~RedisServer() {
  kill();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

void RedisServer::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  wait_exit(pid_, std::chrono::seconds(10));
  pid_ = -1;
  paused_ = false;
}

Status RedisServer::start_again() {
  if (pid_ > 0) return Status::conflict("already running");
  return launch();
}

void RedisServer::pause() {
  if (pid_ > 0 && !paused_ && ::kill(pid_, SIGSTOP) == 0) paused_ = true;
}

void RedisServer::resume() {
  if (pid_ > 0 && paused_ && ::kill(pid_, SIGCONT) == 0) paused_ = false;
}

long long RedisServer::subscribers(const std::string& channel) const {
  redisReply* r = command_once(port_, "PUBSUB NUMSUB %b", channel);
  long long n = -1;
  if (r != nullptr && r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[1]->type == REDIS_REPLY_INTEGER)
    n = r->element[1]->integer;
  if (r != nullptr) freeReplyObject(r);
  return n;
}

bool RedisServer::await_subscribers(const std::string& channel, long long n) const {
  const auto end = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < end) {
    if (subscribers(channel) == n) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

std::string RedisServer::log() const {
  std::ifstream in(dir_ + "/redis.log");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace realtime::testing
