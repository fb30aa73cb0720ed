// AttachmentStore: where uploaded files live when several chatd processes
// serve one chat (a cluster), so that an upload through one process can be
// used, downloaded and removed through any other. It holds each file's
// bytes and metadata, the refs (the messages that use a file, or are on
// their way to the message store with it) and each uploader's stored
// bytes (the quota). chatd's front (checks, multipart, HTTP) stays the
// same whatever the backend; the PostgreSQL one is
// realtime/postgres_attachment_store.h, and an embedder may plug another
// (an object store with a database beside it, say).
//
// Contract for every call, as for Store (realtime/store.h): asynchronous,
// `done` runs exactly once on the Executor the backend was built with and
// never inside the call; calls come from that loop thread only; failures
// are a Status (`unavailable`: cannot reach the storage now, closed or
// overloaded; the same call may succeed later). Several processes call
// the same backend at once: each call is atomic against every other
// process's calls, and no call relies on what this process saw before.
//
// Invariants a backend keeps, whatever interleaving of processes:
// - A file with a ref is never removed, so a message acknowledged by the
//   message store with a ref taken before (add_ref) never names a missing
//   file. Removal (remove_refs on the last ref, remove_unclaimed) and
//   add_ref exclude each other per file.
// - An owner's usage is the sum of the sizes of their stored files.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "realtime/export.h"
#include "realtime/status.h"
#include "realtime/store.h"

namespace realtime {

// A stored file's metadata.
struct AttachmentRecord {
  std::string id;     // chosen by the caller: unguessable, [A-Za-z0-9_-]
  std::string room;   // only this room's messages may use it
  std::string owner;  // the uploader; "" for the service (no quota)
  std::string name;   // file name, valid UTF-8
  std::string mime;   // normalized media type
  std::uint64_t size = 0;   // bytes
  std::int64_t created = 0;  // ms since the epoch
};

// A ref still pending: a message on its way to the message store, named by
// its sender and createdAt (ms), as the history shows it once stored.
struct PendingAttachmentRef {
  std::string id;    // the file
  std::string room;  // the file's room, where the message would be
  std::string sender;
  std::int64_t at = 0;
};

// A ref to a stored message, with its position for paging (`cursor`).
struct AttachmentMessageRef {
  std::string id;  // the file
  std::string msg;  // the message id
  std::int64_t cursor = 0;
};

class REALTIME_EXPORT AttachmentStore {
 public:
  virtual ~AttachmentStore() = default;

  // Stores a file (`bytes.size() == record.size`) with no refs. When the
  // owner is not "" and `quota` is not 0, refused with `payload_too_large`
  // (nothing stored) if the owner's usage would pass `quota`; the check
  // and the new usage are one step, so uploads through several processes
  // at once never pass it together. `conflict` for a taken id.
  virtual void put(AttachmentRecord record, std::string bytes, std::uint64_t quota, StatusCompletion done) = 0;
  // The metadata of a file; `not_found` when there is none.
  virtual void get(std::string id, Completion<AttachmentRecord> done) = 0;
  // The bytes of a file; `not_found` when there is none.
  virtual void read(std::string id, Completion<std::string> done) = 0;

  // Before a message that uses file `id` goes to the message store: a
  // pending ref (sender, at). `not_found`: no such file (or it was just
  // removed); `bad_request`: the file belongs to another room, or already
  // has `max_refs` refs.
  virtual void add_ref(std::string id, std::string room, std::string sender, std::int64_t at, std::size_t max_refs,
                       StatusCompletion done) = 0;
  // After the message store answered: the pending ref (sender, at) names
  // message `msg`, or goes when `msg` is "" (not stored) or already has
  // a ref (a retry). A file left without refs is unclaimed again (see
  // remove_unclaimed), not removed. No pending ref: nothing changes.
  virtual void settle_ref(std::string id, std::string sender, std::int64_t at, std::string msg,
                          StatusCompletion done) = 0;
  // The refs of file `id` to these messages go (they were deleted); a
  // file whose last ref went is removed and its size leaves its owner's
  // usage.
  virtual void remove_refs(std::string id, std::vector<std::string> msgs, StatusCompletion done) = 0;

  // An owner's stored bytes.
  virtual void usage(std::string owner, Completion<std::uint64_t> done) = 0;
  // Removes up to `limit` files that have no ref and were stored before
  // `created_before` (ms); how many went. Safe when every process runs it
  // at once (each file goes once, its size leaves its owner's usage once).
  virtual void remove_unclaimed(std::int64_t created_before, std::size_t limit, Completion<std::size_t> done) = 0;
  // Up to `limit` pending refs whose `at` is before `before` (ms), oldest
  // first: sends that a crashed process left, to settle against history.
  virtual void pending_refs(std::int64_t before, std::size_t limit,
                            Completion<std::vector<PendingAttachmentRef>> done) = 0;
  // Up to `limit` refs to stored messages with a cursor above `after`, by
  // cursor: a sweep checks them against the message store a page at a
  // time (a crash between a delete and its remove_refs leaves one).
  virtual void message_refs(std::int64_t after, std::size_t limit,
                            Completion<std::vector<AttachmentMessageRef>> done) = 0;

  // Stops accepting calls; those queued complete (`unavailable` if they
  // cannot run). Loop thread. Idempotent.
  virtual void close() = 0;
};

}  // namespace realtime
