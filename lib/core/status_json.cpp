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

int http_status(StatusCode code) {
  switch (code) {
    case StatusCode::ok: return 200;
    case StatusCode::bad_request: return 400;
    case StatusCode::unauthorized: return 401;
    case StatusCode::forbidden: return 403;
    case StatusCode::not_found:
    case StatusCode::peer_not_found: return 404;
    case StatusCode::conflict:
    case StatusCode::room_ended: return 409;
    case StatusCode::payload_too_large: return 413;
    case StatusCode::rate_limited: return 429;
    case StatusCode::unavailable: return 503;
    case StatusCode::internal: return 500;
  }
  return 500;
}

}  // namespace realtime
