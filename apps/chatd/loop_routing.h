// Which of chatd's loops takes a connection (--threads above 1): the
// Acceptor (realtime/acceptor.h) asks pick_loop() with the first line of
// the connection's first request. Called on the acceptor's thread.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstddef>
#include <string>
#include <string_view>

namespace chatd {

// The most loops chatd runs: one sid character tells them apart.
inline constexpr std::size_t kMaxLoops = 64;

// --threads as given (0: one per core), clamped to 1..kMaxLoops.
std::size_t resolve_threads(int threads);

// What every Engine.IO sid of loop `index` starts with.
std::string sid_prefix(std::size_t index);

// - An Engine.IO request with a sid: the loop that made the sid.
// - An attachment upload or download: loop 0, where the attachment files
//   are kept (attachments.h).
// - Anything else: the next loop in turn.
// - Nothing peeked (TLS): by the peer's address, so that one client's
//   connections meet on one loop.
std::size_t pick_loop(std::string_view request_line, const sockaddr_storage& peer, std::size_t loops,
                      std::atomic<std::size_t>& next);

}  // namespace chatd
