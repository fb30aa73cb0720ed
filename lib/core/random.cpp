// The library's one source of randomness (see realtime/random.h).
#include "realtime/random.h"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "realtime/base64.h"

namespace realtime {
namespace {

// Fills [p, p + n) from /dev/urandom; false if it cannot.
bool from_urandom(char* p, std::size_t n) {
  const int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  std::size_t got = 0;
  // Bounded: a read of /dev/urandom returns at least 32 MiB or fails.
  for (int i = 0; i < 64 && got < n; ++i) {
    const ssize_t r = ::read(fd, p + got, n - got);
    if (r > 0) got += static_cast<std::size_t>(r);
    else if (r < 0 && errno != EINTR) break;
  }
  ::close(fd);
  return got == n;
}

}  // namespace

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  std::size_t got = 0;
  // getrandom returns short only when interrupted or past 32 MiB at once;
  // bounded retries, then /dev/urandom.
  for (int i = 0; i < 64 && got < n; ++i) {
    const ssize_t r = ::getrandom(out.data() + got, n - got, 0);
    if (r > 0) got += static_cast<std::size_t>(r);
    else if (r < 0 && errno != EINTR) break;
  }
  if (got < n && !from_urandom(out.data() + got, n - got)) {
    std::fputs("realtime: the kernel's random number generator is unavailable; refusing to make guessable ids\n",
               stderr);
    std::abort();
  }
  return out;
}

std::string random_token(std::size_t n) { return base64url_encode(random_bytes(n)); }

}  // namespace realtime
