// Child processes for tests that run real servers (PostgreSQL, Redis):
// a free loopback port, a fork/exec with output to a log file, and waiting
// for an exit. The caller's thread drives them.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace realtime::testing {

// A TCP port on 127.0.0.1 that was free a moment ago (0 if none).
int free_port();

// Starts args[0] (a path) as uid/gid (when uid != 0) with stdout and
// stderr appended to `log` and stdin from /dev/null. With `pdeathsig`, the
// child gets SIGQUIT when the calling thread ends, so a test that crashes
// takes its server with it. -1 when fork fails.
pid_t spawn(const std::vector<std::string>& args, const std::string& log, uid_t uid, gid_t gid, bool pdeathsig);

// Waits for `pid` to exit within `limit`; true when it did (its wait
// status in *status).
bool wait_exit(pid_t pid, std::chrono::milliseconds limit, int* status = nullptr);

}  // namespace realtime::testing
