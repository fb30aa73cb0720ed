// The JSON shapes of the chat protocol (rooms, messages, acks, errors) and
// strict readers for incoming payload fields. Pure functions; loop thread
// or any other.
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

// Field readers: a missing (or null) optional field is nullopt; a present
// field of the wrong type is bad_request naming the field.
Result<std::string> required_string(const Json& payload, std::string_view key);
Result<std::optional<std::string>> optional_string(const Json& payload, std::string_view key);
Result<std::optional<std::int64_t>> optional_int(const Json& payload, std::string_view key);
Result<std::optional<bool>> optional_bool(const Json& payload, std::string_view key);
// A room id field: required, and valid by the protocol's id rule.
Result<std::string> required_room_id(const Json& payload, std::string_view key = "room");

// An attachment object: url required (this server's /api/attachments/{id}
// or http(s)), name, size, mime optional.
Result<Attachment> parse_attachment(const Json& value);

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
