// The lws transport's file work, done on its file thread (a BlockingWorker)
// so that the loop never waits on the disk:
//   BodySpool   writes one request body to a file as it arrives;
//   FileSource  reads one response body from a file as the socket drains.
// Both are created, fed and destroyed on the loop thread; their completions
// come back to the loop. Neither holds more than a small window in memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "realtime/blocking_worker.h"
#include "realtime/status.h"

namespace realtime::lws_detail {

class BodySpool : public std::enable_shared_from_this<BodySpool> {
 public:
  // Bytes gathered on the loop before they go to the file thread in one job.
  static constexpr std::size_t kWriteBytes = 64 * 1024;

  // `path` is created (exclusively, mode 0600) by the first write job.
  // `drained` runs on the loop after each write, so the owner can resume
  // reading when in_flight() has fallen.
  static std::shared_ptr<BodySpool> create(BlockingWorker& files, std::string path, std::function<void()> drained);
  BodySpool(const BodySpool&) = delete;
  BodySpool& operator=(const BodySpool&) = delete;
  ~BodySpool();  // remove(): whoever keeps the bytes has renamed the file by then

  // Queues bytes for the file; false when the file thread refused the job
  // (its queue is full) or an earlier write failed.
  bool write(std::string_view bytes);
  // Bytes taken but not yet written.
  std::size_t in_flight() const { return in_flight_; }
  // After the queued writes: closes the file and calls done on the loop with
  // ok or the first error. False when the job could not be queued.
  bool finish(std::function<void(Status)> done);
  // Removes the file from disk, after any queued write. Idempotent.
  void remove();
  const std::string& path() const;

  struct File;  // the file thread's side; internal

 private:
  BodySpool(BlockingWorker& files, std::string path, std::function<void()> drained);
  bool flush();

  BlockingWorker& files_;
  std::shared_ptr<File> file_;
  std::function<void()> drained_;
  std::string pending_;  // gathered, not yet handed to the file thread
  std::size_t in_flight_ = 0;
  bool failed_ = false;
  bool removed_ = false;
};

class FileSource : public std::enable_shared_from_this<FileSource> {
 public:
  static constexpr std::size_t kChunkBytes = 64 * 1024;

  // Opens `path` on the file thread; `opened` gets its size, or not_found
  // when it is missing or not a regular file. Null when the job could not
  // be queued.
  static std::shared_ptr<FileSource> open(BlockingWorker& files, std::string path,
                                          std::function<void(Result<std::uint64_t>)> opened);
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;
  ~FileSource();  // closes the file on the file thread

  // Reads the next chunk (at most kChunkBytes); "" at the end. False when
  // the job could not be queued. One read at a time.
  bool read(std::function<void(Result<std::string>)> done);

  struct File;  // the file thread's side; internal

 private:
  explicit FileSource(BlockingWorker& files);

  BlockingWorker& files_;
  std::shared_ptr<File> file_;
};

}  // namespace realtime::lws_detail
