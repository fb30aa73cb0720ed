// The JSON shapes of the chat protocol (rooms, messages, acks, errors);
// incoming payloads are read by payloads.h. Pure functions; loop thread or
// any other.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "realtime/json.h"
#include "realtime/message.h"
#include "realtime/room.h"
#include "realtime/status.h"
#include "realtime/status_json.h"  // error_json, ok_ack, failed_ack: public
#include "realtime/store.h"

namespace realtime::chat {

Json to_json(const Room& room);
Json to_json(const Message& message);
Json to_json(const Attachment& attachment);
Json to_json(const RoomSummary& summary);
Json time_json(const std::optional<Timestamp>& t);


// How many of `sizes`, taken in order, fit in `budget` bytes; at least one
// when there is one, so that paging always moves on.
std::size_t fitting(const std::vector<std::size_t>& sizes, std::size_t budget);

// An attachment id as chatd's uploads make them: 22 base64url characters
// (16 random bytes). What /api/attachments/{id} may name.
bool is_valid_attachment_id(std::string_view id);
// An absolute http:// or https:// URL with a host, and no space, control
// character or other byte a URL never carries raw.
bool is_web_url(std::string_view url);

}  // namespace realtime::chat
