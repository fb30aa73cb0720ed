// chatd's listening side: one libwebsockets transport on the port, or
// (--threads above 1, or a cluster without TLS on chatd) an Acceptor on the
// port and one transport per loop, which it hands connections to: by the
// loop character of an Engine.IO sid, and in a cluster relaying a request
// for another node's session to that node (node_directory.h). Built on the
// main thread before any loop runs.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "node_directory.h"
#include "options.h"
#include "realtime/acceptor.h"
#include "realtime/lws_transport.h"

namespace chatd {

struct Listener {
  std::vector<std::unique_ptr<realtime::LwsTransport>> transports;  // one per loop; [0] is loop 0
  std::unique_ptr<realtime::Acceptor> acceptor;                     // null: transports[0] listens itself
  std::shared_ptr<NodeDirectory> directory = std::make_shared<NodeDirectory>();  // filled by DirectoryRefresh
  std::string advertise;  // where other nodes reach this one (--advertise, or from --host and the port)
  std::string own_tag;    // this node's tag in its sids; "" outside a cluster
  int port = 0;           // the bound port
};

// The transports' options from the configuration.
realtime::LwsOptions lws_options(const Config& config);

// Binds the port and makes the transports. The message says what failed
// (the TLS files, the port).
realtime::Result<Listener> listen(const Config& config, std::size_t loops);

}  // namespace chatd
