// ReactionStore: emoji reactions on messages. One reaction per (message,
// user, emoji); a message has at most a given number of distinct emojis.
// The same contract as the other store interfaces (realtime/store.h):
// asynchronous, completions on the backend's Executor, loop thread only,
// failures as a Status. Store inherits it, so every backend has it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "realtime/export.h"
#include "realtime/status.h"

namespace realtime {

template <class T>
using ReactionCompletion = std::function<void(Result<T>)>;

// One emoji's reactions on a message.
struct ReactionCount {
  std::string emoji;
  std::int64_t count = 0;
  bool me = false;                 // the viewer is among them
  std::vector<std::string> users;  // the first `list_users` reactors, oldest first
  friend bool operator==(const ReactionCount&, const ReactionCount&) = default;
};

// A message's reactions, emojis in the order they were first added (an
// emoji whose last reaction went and came back counts from its return).
struct MessageReactions {
  std::string message_id;
  std::vector<ReactionCount> reactions;  // never empty in an answer
  friend bool operator==(const MessageReactions&, const MessageReactions&) = default;
};

class REALTIME_EXPORT ReactionStore {
 public:
  virtual ~ReactionStore() = default;
  // True when added, false when the user had it already. `not_found` for
  // an unknown or deleted message; `conflict` when the emoji is new on the
  // message and it has `max_emojis` distinct ones already (checked with the
  // insert, so concurrent adds never pass it).
  virtual void add_reaction(std::string message_id, std::string user_id, std::string emoji,
                            std::size_t max_emojis, ReactionCompletion<bool> done) = 0;
  // True when removed, false when there was none. `not_found` for an
  // unknown message (a deleted one is fine).
  virtual void remove_reaction(std::string message_id, std::string user_id, std::string emoji,
                               ReactionCompletion<bool> done) = 0;
  // The reactions of these messages (one read, however many), for `viewer`
  // (whose `me` is set; "" for nobody), listing up to `list_users` reactors
  // per emoji. Messages without reactions, or unknown, are left out; the
  // others come in the order asked.
  virtual void reactions(std::vector<std::string> message_ids, std::string viewer, std::size_t list_users,
                         ReactionCompletion<std::vector<MessageReactions>> done) = 0;
};

}  // namespace realtime
