// RedisServer: a throwaway redis-server for tests, on a free loopback port
// and a temporary directory, persistence off; stopped and removed on
// destruction. The server is a child with a parent-death signal, so a test
// that crashes takes it along. Never a system service. One thread drives it.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "realtime/status.h"

namespace realtime::testing {

class RedisServer {
 public:
  // Starts one and waits until it answers PING.
  static Result<std::unique_ptr<RedisServer>> start();
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  // SIGKILL, and wait for the exit.
  void kill();
  // Again on the same port; waits until it answers PING.
  Status start_again();
  // SIGSTOP / SIGCONT: connections stay open and nothing answers.
  void pause();
  void resume();
  // Subscribers of a channel, as PUBSUB NUMSUB reports them (-1: no answer).
  long long subscribers(const std::string& channel) const;
  // Waits (up to 10 s) until the channel has n subscribers.
  bool await_subscribers(const std::string& channel, long long n) const;
  std::string log() const;

 private:
  RedisServer() = default;
  Status launch();

  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
  bool paused_ = false;
};

}  // namespace realtime::testing
