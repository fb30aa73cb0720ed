// The chat protocol's error and ack JSON (realtime/status_json.h). Called by
// the chat service for every ack and by embedders' routes; any thread.
#include "realtime/status_json.h"

#include <string>
#include <utility>

namespace realtime {

Json error_json(const Status& status) {
  return Json::object({{"code", std::string(code_name(status.code()))}, {"message", status.message()}});
}

Json ok_ack(Json fields) {
  Json out = Json::object({{"ok", true}});
  if (fields.is_object())
    for (auto& [k, v] : fields.as_object()) out.set(k, std::move(v));
  return out;
}

Json failed_ack(const Status& status) { return Json::object({{"ok", false}, {"error", error_json(status)}}); }

}  // namespace realtime
