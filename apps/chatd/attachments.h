// chatd's attachment files: what an upload becomes, who may still need it,
// and when it goes.
//
// Layout under <data-dir>/attachments: <id> holds the bytes, <id>.json the
// metadata {room, owner, name, mime, size, created, refs}; .spool/ is where
// the transport writes upload bodies as they arrive. `refs` lists the
// messages that use the file: {"msg": id} once stored, or {"sender", "at"}
// while a message is on its way to the store.
//
// Lifecycle (docs/architecture.md, "Attachments"):
// - An upload is checked on its headers (quota of the uploader, free space
//   on the data directory) and again when it is stored.
// - A message may use an attachment of its own room only. Before the store
//   sees it, a pending ref is written durably; after, it becomes {"msg"} or
//   goes. So a crash can leave a pending ref (settled at the next start by
//   looking the message up in the room's newest history), never a stored
//   message without its ref.
// - Deleting a message removes its ref; the file goes with its last ref.
// - An upload no message ever used is removed after the unclaimed time;
//   leftovers of a crash (spool files, half-written files) at startup.
// Metadata written before refs existed has no `refs`: such files are kept.
//
// Shared backend (a cluster, --store postgres): with options.shared set,
// the bytes, metadata, refs and quota live in that realtime::AttachmentStore
// instead of <data-dir>/attachments (attachment_shared.cpp); only the
// spool stays on this node's disk. The checks, limits and HTTP answers are
// the same; what differs is said where it does.
//
// Loop thread for every public call; the disk work runs on the worker.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "log.h"
#include "realtime/attachment_store.h"
#include "realtime/blocking_worker.h"
#include "realtime/chat_service.h"
#include "realtime/event_loop.h"
#include "realtime/store.h"

namespace chatd {

struct AttachmentOptions {
  std::filesystem::path dir;                     // <data-dir>/attachments
  std::uint64_t max_bytes = 10 << 20;            // one file
  std::vector<std::string> types;                // allowed MIME prefixes; empty: any
  std::uint64_t quota_bytes = 1ull << 30;        // live files per uploader; 0: no quota
  std::uint64_t min_free_bytes = 256ull << 20;   // uploads stop before the data dir has less free
  std::chrono::minutes unclaimed_ttl{24 * 60};   // an upload no message used goes after this
  std::chrono::milliseconds upload_timeout{120000};  // the longest an admitted upload may take
  // When set, files live there (shared by every node), not under `dir`;
  // it must outlive the Attachments.
  realtime::AttachmentStore* shared = nullptr;
};

// An upload refused: the HTTP status and error code to answer with.
struct UploadRefusal {
  int http_status = 400;
  std::string code;  // a contract code, or "quota_exceeded"
  std::string message;
};

// A stored attachment, as the download route serves it.
struct StoredAttachment {
  std::string id;
  std::string room;
  std::string mime;
  std::filesystem::path file;  // empty: in the shared store, read() its bytes
};

// An upload whose body the transport has spooled.
struct Upload {
  std::string owner;  // the uploading user; "" for the service (no quota)
  std::string room;
  std::string content_type;  // the request's
  std::string name;          // ?name=, if any
  std::string body_file;     // the spooled body
  std::uint64_t body_size = 0;
  std::uint64_t announced = 0;  // the Content-Length admit() reserved
};

class Attachments final : public realtime::MessageObserver {
 public:
  Attachments(AttachmentOptions options, realtime::BlockingWorker& worker, realtime::EventLoop& loop,
              realtime::Store& store, Log& log);
  ~Attachments() override;
  Attachments(const Attachments&) = delete;
  Attachments& operator=(const Attachments&) = delete;

  // Before the loop runs (it waits on the disk): creates the directories,
  // empties the spool, removes half-written and unclaimed files, and counts
  // each uploader's bytes.
  realtime::Status open();
  // Once the loop runs: settles refs a crash left pending, and sweeps
  // unclaimed uploads every hour.
  void start();

  const std::filesystem::path& spool_dir() const { return spool_; }

  // On an upload's headers: the uploader's quota and the free space for
  // `length` bytes. Passing, the bytes stay reserved until store() takes
  // them or upload_timeout has passed.
  void admit(const std::string& owner, std::uint64_t length,
             std::function<void(std::optional<UploadRefusal>)> done);
  // An admitted upload that will not be stored: its reservation ends.
  void abandon(const std::string& owner, std::uint64_t length) { release(owner, length); }
  // Checks the spooled upload (multipart part, type, name, size), checks
  // the quota and free space again, and stores it.
  void store(Upload upload, std::function<void(std::variant<realtime::Attachment, UploadRefusal>)> done);
  // The file of attachment `id`; not_found when there is none.
  void find(const std::string& id, std::function<void(realtime::Result<StoredAttachment>)> done);
  // The bytes of a shared attachment that find() returned without a file.
  void read(const std::string& id, std::function<void(realtime::Result<std::string>)> done);

  // Live bytes of an uploader (tests, metrics).
  std::uint64_t usage(const std::string& owner) const;

  // MessageObserver: keeps `refs` true.
  void before_store(const realtime::NewMessage& message, std::function<void(realtime::Status)> proceed) override;
  void after_store(const realtime::NewMessage& message, const realtime::Result<realtime::Appended>& result) override;
  void deleted(const realtime::Message& before) override;

  // "/api/attachments/<id>" -> id, when the url names one of ours.
  static std::optional<std::string> id_of_url(std::string_view url);
  static bool valid_id(std::string_view id);

 private:
  // Refs one file may carry (messages reusing it, plus those in flight).
  static constexpr std::size_t kMaxRefs = 1000;
  // Confirmed refs the sweep checks against the store each time.
  static constexpr std::size_t kVerifyPerSweep = 500;

  // A ref still pending in a metadata file: the message's sender and createdAt (ms).
  struct Pending {
    std::string sender;
    std::int64_t at = 0;
  };
  // What an upload turned out to be, before it is stored.
  struct Checked {
    std::string mime, name;
    std::uint64_t offset = 0, length = 0;
    bool whole = true;  // the file is the whole body (raw upload): renamed, not copied
  };
  static std::variant<Checked, UploadRefusal> check_upload(const Upload& u, const AttachmentOptions& opt);
  struct Reservation {
    std::uint64_t bytes;
    realtime::EventLoop::TimePoint expires;
  };
  std::uint64_t reserved_by(const std::string& owner) const;
  void release(const std::string& owner, std::uint64_t bytes);
  void expire_reservations();
  void add_usage(const std::string& owner, std::int64_t delta);
  void settle(std::string id, std::string room, std::vector<Pending> pending,
              std::optional<std::int64_t> before, int pages);
  void place(std::shared_ptr<const Upload> up, const Checked& checked, std::optional<std::uint64_t> free,
             std::function<void(std::variant<realtime::Attachment, UploadRefusal>)> done);
  void sweep();
  void schedule_sweep();
  // Drops refs to messages that are deleted or gone, and the files left
  // without refs (what a crash between a delete and its ref update leaves).
  void verify(std::map<std::string, std::vector<std::string>> refs);
  void forget(std::map<std::string, std::vector<std::string>> dead);
  // What settle() found: pending refs that name a stored message, and
  // those whose message was never stored.
  void record_settled(const std::string& id, std::vector<std::pair<Pending, std::string>> found,
                      std::vector<Pending> gone);

  // The shared backend (attachment_shared.cpp).
  void admit_shared(const std::string& owner, std::uint64_t length,
                    std::function<void(std::optional<UploadRefusal>)> done);
  void store_shared(std::shared_ptr<const Upload> up,
                    std::function<void(std::variant<realtime::Attachment, UploadRefusal>)> done);
  void find_shared(const std::string& id, std::function<void(realtime::Result<StoredAttachment>)> done);
  void before_store_shared(const std::string& id, const realtime::NewMessage& m,
                           std::function<void(realtime::Status)> proceed);
  void after_store_shared(const std::string& id, const realtime::NewMessage& m, const std::string& msg);
  void forget_shared(std::map<std::string, std::vector<std::string>> dead);
  void record_settled_shared(const std::string& id, std::vector<std::pair<Pending, std::string>> found,
                             std::vector<Pending> gone);
  void sweep_shared();

  AttachmentOptions opt_;
  std::filesystem::path spool_;
  realtime::BlockingWorker& worker_;
  realtime::EventLoop& loop_;
  realtime::Store& store_;
  Log& log_;
  // Loop thread only. One entry per uploader with live files.
  std::unordered_map<std::string, std::uint64_t> usage_;
  std::multimap<std::string, Reservation> reservations_;  // admitted uploads, by owner
  std::uint64_t reserved_total_ = 0;
  struct Unsettled {
    std::string room;
    std::vector<Pending> pending;
  };
  std::map<std::string, Unsettled> unsettled_;  // found by open(), for start()
  std::string verify_after_;  // the sweeps check refs a batch at a time, by id
  std::int64_t verify_cursor_ = 0;  // the same in the shared store, by ref cursor
  realtime::AttachmentStore* shared_ = nullptr;
  realtime::EventLoop::TimerId sweep_timer_ = 0;
  std::shared_ptr<char> alive_ = std::make_shared<char>();  // continuations check it
};

}  // namespace chatd
