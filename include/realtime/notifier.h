// Notifier: where the chat service hands word of a new message to members
// who are away from its room, so an embedder can reach them outside the
// app (chatd: a signed webhook, Web Push).
//
// "Away" is decided when a message is stored: a member of the room, other
// than its sender, with no socket in the room on any loop or node of a
// cluster (Hub and Roster). Only the node that stored the message calls
// the notifier, so one message makes one notice per away member however
// many nodes there are. System messages and resent duplicates make none.
//
// notify() runs on the loop thread and must not block: queue the notice
// and deliver it elsewhere (a worker thread). It must not throw. One
// Notifier may serve several services (loops) only if it is thread-safe.
// Set it with ChatOptions::notifier; it must outlive the service.
#pragma once

#include <cstdint>
#include <string>

#include "realtime/clock.h"
#include "realtime/export.h"

namespace realtime {

struct AwayNotice {
  std::string user_id;     // who is away: the one to notify
  std::string room;
  std::string room_title;  // may be empty (direct rooms often have none)
  std::string message_id;
  std::int64_t seq = 0;
  std::string sender_id;
  std::string sender_name;
  // The start of the text, at most kMaxPreviewBytes of whole characters
  // (an attachment's name in brackets when there is no text).
  std::string preview;
  Timestamp at{};  // when the message was sent

  static constexpr std::size_t kMaxPreviewBytes = 200;
};

class REALTIME_EXPORT Notifier {
 public:
  virtual ~Notifier() = default;
  virtual void notify(const AwayNotice& notice) = 0;
};

}  // namespace realtime
