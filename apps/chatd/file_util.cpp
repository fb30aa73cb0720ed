// Checked file writes and reads for the attachment worker (see file_util.h).
#include "file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace chatd {
namespace {

using realtime::Status;

Status io_error(const std::string& what, int err) {
  if (err == ENOSPC || err == EDQUOT) return Status::unavailable(what + ": no space left on the device");
  return Status::internal(what + ": " + std::strerror(err));
}

// 0, or the errno of the failure.
int write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return 0;
}

// close() reports write-back errors too: its result counts.
int close_checked(int fd) { return ::close(fd) == 0 ? 0 : errno; }

int sync_dir(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  const int err = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  return err;
}

}  // namespace

Status replace_file(const std::filesystem::path& path, std::string_view data, bool durable) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return io_error("cannot create " + tmp.string(), errno);
  int err = write_all(fd, data);
  if (err == 0 && durable && ::fsync(fd) != 0) err = errno;
  const int close_err = close_checked(fd);
  if (err == 0) err = close_err;
  if (err == 0 && ::rename(tmp.c_str(), path.c_str()) != 0) err = errno;
  if (err != 0) {
    ::unlink(tmp.c_str());
    return io_error("cannot write " + path.string(), err);
  }
  if (durable && (err = sync_dir(path.parent_path())) != 0) return io_error("cannot sync " + path.parent_path().string(), err);
  return {};
}

Status copy_range(const std::filesystem::path& from, std::uint64_t offset, std::uint64_t length,
                  const std::filesystem::path& to) {
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return io_error("cannot open " + from.string(), errno);
  const int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (out < 0) {
    const int e = errno;
    ::close(in);
    return io_error("cannot create " + to.string(), e);
  }
  std::vector<char> buf(64 * 1024);
  int err = 0;
  while (err == 0 && length > 0) {
    const std::size_t want = length < buf.size() ? static_cast<std::size_t>(length) : buf.size();
    const ssize_t n = ::pread(in, buf.data(), want, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = n < 0 ? errno : EIO;  // the source ended early
      break;
    }
    err = write_all(out, std::string_view(buf.data(), static_cast<std::size_t>(n)));
    offset += static_cast<std::uint64_t>(n);
    length -= static_cast<std::uint64_t>(n);
  }
  ::close(in);
  if (err == 0 && ::fsync(out) != 0) err = errno;
  const int close_err = close_checked(out);
  if (err == 0) err = close_err;
  if (err != 0) {
    ::unlink(to.c_str());
    return io_error("cannot write " + to.string(), err);
  }
  return {};
}

Status sync_file(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open " + path.string(), errno);
  int err = ::fsync(fd) == 0 ? 0 : errno;
  const int close_err = close_checked(fd);
  if (err == 0) err = close_err;
  return err == 0 ? Status{} : io_error("cannot sync " + path.string(), err);
}

std::optional<std::string> read_small_file(const std::filesystem::path& path, std::size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || out.size() + static_cast<std::size_t>(n) > max_bytes) {
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

std::optional<std::uint64_t> free_bytes(const std::filesystem::path& dir) {
  struct statvfs s {};
  if (::statvfs(dir.c_str(), &s) != 0) return std::nullopt;
  return static_cast<std::uint64_t>(s.f_bavail) * s.f_frsize;
}

}  // namespace chatd
