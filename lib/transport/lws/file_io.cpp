// BodySpool and FileSource (see file_io.h). The loop-side objects live on
// the loop thread; everything under File is touched only by jobs on the
// file thread, which run one at a time in queue order, so it needs no lock.
#include "transport/lws/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace realtime::lws_detail {
namespace {

std::string errno_text(int err) { return std::strerror(err); }

// The whole buffer, or the errno of the failure.
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

}  // namespace

struct BodySpool::File {
  std::string path;
  int fd = -1;
  int error = 0;     // first failure; later writes are skipped
  bool gone = false;  // removed
  ~File() {
    if (fd >= 0) ::close(fd);
  }
};

std::shared_ptr<BodySpool> BodySpool::create(BlockingWorker& files, std::string path, std::function<void()> drained) {
  return std::shared_ptr<BodySpool>(new BodySpool(files, std::move(path), std::move(drained)));
}

BodySpool::BodySpool(BlockingWorker& files, std::string path, std::function<void()> drained)
    : files_(files), file_(std::make_shared<File>()), drained_(std::move(drained)) {
  file_->path = std::move(path);
}

BodySpool::~BodySpool() { remove(); }

const std::string& BodySpool::path() const { return file_->path; }

bool BodySpool::write(std::string_view bytes) {
  if (failed_ || removed_) return false;
  pending_.append(bytes);
  in_flight_ += bytes.size();
  return pending_.size() < kWriteBytes || flush();
}

bool BodySpool::flush() {
  if (pending_.empty()) return true;
  std::weak_ptr<BodySpool> self = weak_from_this();
  const std::size_t n = pending_.size();
  const bool queued = files_.run([file = file_, data = std::exchange(pending_, {}), self, n]() -> std::function<void()> {
    if (file->error == 0 && !file->gone) {
      if (file->fd < 0) {
        file->fd = ::open(file->path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (file->fd < 0) file->error = errno;
      }
      if (file->fd >= 0) file->error = write_all(file->fd, data);
    }
    return [self, n] {
      auto spool = self.lock();
      if (!spool) return;
      spool->in_flight_ -= std::min(n, spool->in_flight_);
      if (spool->drained_) spool->drained_();
    };
  });
  if (!queued) failed_ = true;
  return queued;
}

bool BodySpool::finish(std::function<void(Status)> done) {
  if (failed_ || removed_ || !flush()) return false;
  return files_.run([file = file_, done = std::move(done)]() -> std::function<void()> {
    Status result;
    if (file->error == 0 && file->fd < 0 && !file->gone) {
      // An empty body: nothing was written, but the handler gets a file.
      file->fd = ::open(file->path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (file->fd < 0) file->error = errno;
    }
    if (file->fd >= 0 && ::close(file->fd) != 0 && file->error == 0) file->error = errno;
    file->fd = -1;
    if (file->error == ENOSPC || file->error == EDQUOT) {
      result = Status::unavailable("no space left to store the request body");
    } else if (file->error != 0) {
      result = Status::internal("cannot write the request body: " + errno_text(file->error));
    }
    return [done, result] { done(result); };
  });
}

void BodySpool::remove() {
  if (removed_) return;
  removed_ = true;
  pending_.clear();
  auto job = [file = file_]() -> std::function<void()> {
    if (file->fd >= 0) ::close(file->fd);
    file->fd = -1;
    file->gone = true;
    ::unlink(file->path.c_str());
    return [] {};
  };
  // A full queue must not leave the file behind: unlink here rather than
  // not at all (a rare, short metadata call).
  if (!files_.run(job)) job();
}

struct FileSource::File {
  int fd = -1;
  ~File() {
    if (fd >= 0) ::close(fd);
  }
};

FileSource::FileSource(BlockingWorker& files) : files_(files), file_(std::make_shared<File>()) {}

std::shared_ptr<FileSource> FileSource::open(BlockingWorker& files, std::string path,
                                             std::function<void(Result<std::uint64_t>)> opened) {
  std::shared_ptr<FileSource> source(new FileSource(files));
  const bool queued = files.run([file = source->file_, path = std::move(path), opened = std::move(opened)]() -> std::function<void()> {
    Result<std::uint64_t> size = Status::not_found("no such file");
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    if (fd >= 0 && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
      file->fd = fd;
      size = static_cast<std::uint64_t>(st.st_size);
    } else if (fd >= 0) {
      ::close(fd);
    }
    return [opened, size] { opened(size); };
  });
  return queued ? source : nullptr;
}

FileSource::~FileSource() {
  // The last job (a read) may still hold the File; this one closes it after.
  files_.run([file = std::move(file_)]() -> std::function<void()> { return [] {}; });
}

bool FileSource::read(std::function<void(Result<std::string>)> done) {
  return files_.run([file = file_, done = std::move(done)]() -> std::function<void()> {
    Result<std::string> out = std::string();
    std::string buf(kChunkBytes, '\0');
    for (;;) {
      const ssize_t n = ::read(file->fd, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        out = Status::internal("cannot read the file: " + errno_text(errno));
      } else {
        buf.resize(static_cast<std::size_t>(n));
        out = std::move(buf);
      }
      break;
    }
    return [done, out = std::move(out)]() mutable { done(std::move(out)); };
  });
}

}  // namespace realtime::lws_detail
