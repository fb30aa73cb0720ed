// An attachment's metadata file, <id>.json beside the file's bytes <id>:
// the room it belongs to, who uploaded it, its name, type and size, when,
// and `refs`, the messages that use it. Read and written only on the
// attachment worker (each call waits on the disk).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "realtime/status.h"

namespace chatd {

// A message that uses the file: {"msg": id} once stored; while it is on
// its way to the store, pending: {"sender", "at"} (its createdAt in ms).
struct AttachmentRef {
  std::string msg;  // empty: pending
  std::string sender;
  std::int64_t at = 0;
  bool pending_for(const std::string& s, std::int64_t t) const { return msg.empty() && sender == s && at == t; }
};

struct AttachmentMeta {
  std::string room, owner, name, mime;  // owner "": uploaded by the service
  std::uint64_t size = 0;
  std::int64_t created = 0;  // ms since the epoch
  // nullopt: written before refs were kept; such a file is never removed.
  std::optional<std::vector<AttachmentRef>> refs;
};

inline constexpr std::string_view kAttachmentUrlPrefix = "/api/attachments/";

// 22 base64url characters (16 random bytes).
bool valid_attachment_id(std::string_view id);

// nullopt when missing or unreadable.
std::optional<AttachmentMeta> load_meta(const std::filesystem::path& dir, const std::string& id);
// Replaces the file whole (see replace_file); `durable`: fsynced first.
realtime::Status save_meta(const std::filesystem::path& dir, const std::string& id, const AttachmentMeta& meta,
                           bool durable);
// Bytes first, then the metadata: a crash in between leaves metadata
// without bytes, which the next start removes.
void remove_attachment_files(const std::filesystem::path& dir, const std::string& id);

}  // namespace chatd
