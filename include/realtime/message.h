// Message: one stored chat message, and what a sender supplies for a new one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "realtime/clock.h"
#include "realtime/export.h"

namespace realtime {

enum class MessageType : std::uint8_t { text, image, file, system };
REALTIME_EXPORT std::string_view to_string(MessageType t);
REALTIME_EXPORT std::optional<MessageType> parse_message_type(std::string_view s);

struct Attachment {
  std::string url;
  std::string name;
  std::int64_t size = 0;
  std::string mime;
  friend bool operator==(const Attachment&, const Attachment&) = default;
};

struct Message {
  std::string id;      // assigned by the store, unique in the store
  std::string room;
  std::int64_t seq = 0;  // assigned by the store: 1, 2, 3... per room, no gaps
  std::string sender_id;
  std::string sender_name;
  std::string sender_role;
  MessageType type = MessageType::text;
  std::string text;  // "" once deleted
  std::optional<std::string> reply_to;  // id of a message in the same room
  std::optional<Attachment> attachment;  // nullopt once deleted
  std::optional<std::string> client_msg_id;
  Timestamp created_at{};
  std::optional<Timestamp> edited_at;
  bool deleted = false;
  friend bool operator==(const Message&, const Message&) = default;
};

// A message to append: a Message without the fields the store assigns.
struct NewMessage {
  std::string room;
  std::string sender_id;
  std::string sender_name;
  std::string sender_role;
  MessageType type = MessageType::text;
  std::string text;
  std::optional<std::string> reply_to;
  std::optional<Attachment> attachment;
  std::optional<std::string> client_msg_id;
  Timestamp created_at{};
};

}  // namespace realtime
