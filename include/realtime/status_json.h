// How a Status and an operation's outcome are written as JSON in the chat
// protocol (docs/protocol.md, "Errors"). The chat service answers socket
// acks with these; an embedder's own routes (chatd's REST API, /healthz)
// use them too so that every answer has the same shape. Pure functions;
// any thread.
#pragma once

#include "realtime/export.h"
#include "realtime/json.h"
#include "realtime/status.h"

namespace realtime {

// {"code": "<code_name>", "message": "<message>"}. An ok Status gives
// {"code":"ok","message":""}; callers normally pass errors only.
REALTIME_EXPORT Json error_json(const Status& status);

// {"ok": true, ...fields}: the members of `fields` (when it is an object)
// follow "ok"; a non-object `fields` adds nothing. A member named "ok" in
// `fields` replaces the true, so callers must not pass one.
REALTIME_EXPORT Json ok_ack(Json fields);

// {"ok": false, "error": error_json(status)}: a failed operation's ack.
REALTIME_EXPORT Json failed_ack(const Status& status);

// The HTTP status an answer with this code carries over REST, so that an
// embedder's routes and chatd's agree: ok 200, bad_request 400,
// unauthorized 401, forbidden 403, not_found and peer_not_found 404,
// conflict and room_ended 409, payload_too_large 413, rate_limited 429,
// internal 500, unavailable 503.
REALTIME_EXPORT int http_status(StatusCode code);

}  // namespace realtime
