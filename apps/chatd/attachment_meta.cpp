// Attachment metadata files (see attachment_meta.h). Worker thread.
#include "attachment_meta.h"

#include <algorithm>
#include <cctype>
#include <system_error>

#include "file_util.h"
#include "realtime/json.h"

namespace chatd {
namespace {

using realtime::Json;
namespace fs = std::filesystem;

constexpr std::size_t kMaxMetaBytes = 1 << 20;

Json to_json(const AttachmentMeta& m) {
  Json j = Json::object({{"room", m.room},
                         {"owner", m.owner},
                         {"name", m.name},
                         {"mime", m.mime},
                         {"size", static_cast<long long>(m.size)},
                         {"created", static_cast<long long>(m.created)}});
  if (m.refs) {
    Json refs = Json::array();
    for (const AttachmentRef& r : *m.refs) {
      refs.push(r.msg.empty() ? Json::object({{"sender", r.sender}, {"at", static_cast<long long>(r.at)}})
                              : Json::object({{"msg", r.msg}}));
    }
    j.set("refs", std::move(refs));
  }
  return j;
}

}  // namespace

bool valid_attachment_id(std::string_view id) {
  return id.size() == 22 && std::all_of(id.begin(), id.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
         });
}

std::optional<AttachmentMeta> load_meta(const fs::path& dir, const std::string& id) {
  auto text = read_small_file(dir / (id + ".json"), kMaxMetaBytes);
  if (!text) return std::nullopt;
  auto j = Json::parse(*text, 8);
  if (!j.ok() || !(*j)["room"].is_string()) return std::nullopt;
  AttachmentMeta m;
  auto str = [&](const char* k) { return (*j)[k].is_string() ? (*j)[k].as_string() : std::string(); };
  m.room = str("room");
  m.owner = str("owner");
  m.name = str("name");
  m.mime = str("mime");
  m.size = (*j)["size"].is_int() ? static_cast<std::uint64_t>(std::max<std::int64_t>(0, (*j)["size"].as_int())) : 0;
  m.created = (*j)["created"].is_int() ? (*j)["created"].as_int() : 0;
  if ((*j)["refs"].is_array()) {
    m.refs.emplace();
    for (const Json& r : (*j)["refs"].as_array()) {
      AttachmentRef ref;
      if (r["msg"].is_string()) ref.msg = r["msg"].as_string();
      if (r["sender"].is_string()) ref.sender = r["sender"].as_string();
      if (r["at"].is_int()) ref.at = r["at"].as_int();
      m.refs->push_back(std::move(ref));
    }
  }
  return m;
}

realtime::Status save_meta(const fs::path& dir, const std::string& id, const AttachmentMeta& meta, bool durable) {
  return replace_file(dir / (id + ".json"), to_json(meta).dump(), durable);
}

void remove_attachment_files(const fs::path& dir, const std::string& id) {
  std::error_code ec;
  fs::remove(dir / id, ec);
  fs::remove(dir / (id + ".json"), ec);
}

}  // namespace chatd
