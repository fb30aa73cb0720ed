// Authenticator: turns what a client presented into an Identity, or refuses.
//
// Called on the loop thread when a Socket.IO client connects (and by REST
// routes), so it must not block: verify a signature, do not call a server.
// The stock implementation is JwtAuthenticator (HS256, or an identity
// provider's public keys); embedders plug in
// their own session cookies or API keys here.
#pragma once

#include <string>

#include "realtime/connection.h"
#include "realtime/export.h"
#include "realtime/json.h"
#include "realtime/status.h"

namespace realtime {

struct Identity {
  std::string user_id;  // 1-128 bytes
  std::string name;     // display name; defaults to user_id
  std::string role;     // free string; "admin" is special to the chat service
};

class REALTIME_EXPORT Authenticator {
 public:
  virtual ~Authenticator() = default;
  // auth: the Socket.IO CONNECT payload (null when none was sent).
  // Failure contract: an unauthorized Status, never an exception.
  virtual Result<Identity> authenticate(const Handshake& handshake, const Json& auth) const = 0;
};

}  // namespace realtime
