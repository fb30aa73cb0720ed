// embed_lws_server: chat added to an HTTP service that already exists, in
// one process, on one port.
//
// The service stands for a team's own server: it has its own routes
// (GET /api/hello, POST /api/login with a JSON body, which hands out the
// service's session tokens) and now wants chat. One LwsTransport serves
// both: the routes through add_route(), and socket.io-client on
// /socket.io/ through a socketio::Server and a ChatService. Sockets are let
// in by an Authenticator over the same session table the login route
// fills, and one more route, POST /api/rooms/{id}/announce, posts into a
// chat room through ChatService::call(), with the chat's own rules.
//
//   embed_lws_server [--host 127.0.0.1] [--port 8080] [--db chat.db] [--max-sessions 10000]
//
// --port 0 takes an ephemeral port; "listening on port N" goes to stdout
// once the routes are in place. Without --db the messages live in memory;
// with it, in that SQLite file. SIGTERM or SIGINT stop the loop, the store
// is closed, and the process exits 0 ("stopped"). Built from include/realtime/
// only; docs/embedding.md walks through it, and tests/examples/
// embed_lws_server.test.mjs drives it with the real socket.io-client.
//
// Threads: main() is the loop thread (it calls run()); every route, the
// Authenticator and the chat service run there. The SQLite store has its
// own threads and hands results back through the loop; the signal handler
// only calls stop().
#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstdio>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <cxxopts.hpp>

#include "realtime/authenticator.h"
#include "realtime/chat_service.h"
#include "realtime/clock.h"
#include "realtime/json.h"
#include "realtime/lws_transport.h"
#include "realtime/memory_store.h"
#include "realtime/random.h"
#include "realtime/socketio_server.h"
#include "realtime/sqlite_store.h"
#include "realtime/status.h"
#include "realtime/status_json.h"

namespace {

using realtime::HttpRequest;
using realtime::HttpResponder;
using realtime::HttpResponse;
using realtime::Identity;
using realtime::Json;
using realtime::Result;
using realtime::Status;

// stop() is the one transport call that is safe in a signal handler.
realtime::LwsTransport* g_transport = nullptr;
void on_signal(int) {
  if (g_transport != nullptr) g_transport->stop();
}

struct Flags {
  std::string host;
  int port = 8080;
  std::string db;  // "" = memory store
  std::size_t max_sessions = 10000;
  int exit_code = -1;  // >= 0: exit at once with it (--help, a bad command line)
};

Flags parse_flags(int argc, char** argv) {
  Flags f;
  cxxopts::Options options("embed_lws_server", "An HTTP service with its own routes and librealtime's chat on one port");
  // clang-format off
  options.add_options()
      ("host", "Address to listen on", cxxopts::value<std::string>()->default_value("127.0.0.1"))
      ("port", "TCP port (0: an ephemeral one)", cxxopts::value<int>()->default_value("8080"))
      ("db", "SQLite file for the chat (empty: keep it in memory)", cxxopts::value<std::string>()->default_value(""))
      ("max-sessions", "Sessions kept; past it, each login ends the oldest", cxxopts::value<std::size_t>()->default_value("10000"))
      ("h,help", "Show this help");
  // clang-format on
  try {
    auto args = options.parse(argc, argv);
    if (args.count("help") != 0) {
      std::printf("%s\n", options.help().c_str());
      f.exit_code = 0;
      return f;
    }
    if (!args.unmatched().empty()) {
      std::fprintf(stderr, "embed_lws_server: unexpected argument %s\n", args.unmatched()[0].c_str());
      f.exit_code = 2;
      return f;
    }
    f.host = args["host"].as<std::string>();
    f.port = args["port"].as<int>();
    f.db = args["db"].as<std::string>();
    f.max_sessions = std::max<std::size_t>(1, args["max-sessions"].as<std::size_t>());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "embed_lws_server: %s\n", e.what());
    f.exit_code = 2;
  }
  return f;
}

// --- HTTP answers: JSON bodies, errors as {"error": {"code", "message"}}
// with the chat protocol's codes and their HTTP statuses (status_json.h), as
// chatd's REST API answers.

HttpResponse json_response(int status, const Json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump();
  return r;
}

HttpResponse error_response(const Status& s) {
  return json_response(realtime::http_status(s.code()), Json::object({{"error", realtime::error_json(s)}}));
}

// The request's body as a JSON object.
Result<Json> json_body(const HttpRequest& req) {
  auto body = Json::parse(req.body, 16);
  if (!body.ok()) return body.status();
  if (!body->is_object()) return Status::bad_request("the body must be a JSON object");
  return body;
}

// --- The service's sessions, which the chat now trusts too.

// Session tokens the login route hands out, each standing for one user.
// Bounded: past max entries, a new login ends the oldest session. Loop
// thread only (the routes and the Authenticator all run there).
class Sessions {
 public:
  explicit Sessions(std::size_t max) : max_(max) {}

  std::string open(Identity who) {
    if (order_.size() >= max_) {
      by_token_.erase(order_.front());
      order_.pop_front();
    }
    std::string token = realtime::random_token(32);
    by_token_.emplace(token, std::move(who));
    order_.push_back(token);
    return token;
  }

  // The user of a token, or nullptr. (A real service would also expire
  // sessions, and look up a digest of the token rather than the token.)
  const Identity* find(std::string_view token) const {
    auto it = by_token_.find(token);
    return it == by_token_.end() ? nullptr : &it->second;
  }

  // The user of "Authorization: Bearer <token>", or nullptr.
  const Identity* caller(const HttpRequest& req) const {
    auto h = req.headers.find("authorization");
    constexpr std::string_view kBearer = "Bearer ";
    if (h == req.headers.end() || !h->second.starts_with(kBearer)) return nullptr;
    return find(std::string_view(h->second).substr(kBearer.size()));
  }

 private:
  std::size_t max_;
  std::map<std::string, Identity, std::less<>> by_token_;
  std::deque<std::string> order_;  // oldest first
};

// socket.io-client sends the token as io(url, {auth: {token}}).
class SessionAuthenticator final : public realtime::Authenticator {
 public:
  explicit SessionAuthenticator(const Sessions& sessions) : sessions_(sessions) {}
  Result<Identity> authenticate(const realtime::Handshake&, const Json& auth) const override {
    const Json* token = auth.find("token");
    const Identity* who = token != nullptr && token->is_string() ? sessions_.find(token->as_string()) : nullptr;
    if (who == nullptr) return Status::unauthorized("log in first: POST /api/login");
    return *who;
  }

 private:
  const Sessions& sessions_;
};

bool valid_user_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
  return true;
}

// --- The routes the service had before chat arrived.
void add_service_routes(realtime::LwsTransport& t, Sessions& sessions, const realtime::socketio::Server& io) {
  // Routes run on the loop thread, like the chat: they may read chat
  // objects directly, with no lock.
  t.add_route("GET", "/api/hello", [&io](const HttpRequest&, HttpResponder respond) {
    respond(json_response(200, Json::object({{"hello", "world"}, {"chatConnections", io.connection_count()}})));
  });

  // Stands in for the service's real sign-in (a password check, an SSO
  // callback): whoever asks gets a session for the user they name.
  realtime::RouteOptions small;
  small.max_body = 4096;  // bigger bodies are refused (413) before they are read
  t.add_route("POST", "/api/login", [&sessions](const HttpRequest& req, HttpResponder respond) {
    auto body = json_body(req);
    if (!body.ok()) return respond(error_response(body.status()));
    const Json& user = (*body)["user"];
    const Json& name = (*body)["name"];
    if (!user.is_string() || !valid_user_id(user.as_string()))
      return respond(error_response(Status::bad_request("user must be 1-64 letters, digits, - or _")));
    if (!name.is_null() && (!name.is_string() || name.as_string().size() > 100))
      return respond(error_response(Status::bad_request("name must be a string of at most 100 bytes")));
    Identity who{user.as_string(), name.is_string() ? name.as_string() : user.as_string(), "user"};
    std::string token = sessions.open(who);
    respond(json_response(200, Json::object({{"token", std::move(token)}, {"user", who.user_id}})));
  }, small);
}

// --- A route of the service that acts in the chat: the logged-in user
// posts an announcement into a room, through the same operation (and the
// same checks: membership, text length, the room's state) as a socket's
// message:send.
void add_announce_route(realtime::LwsTransport& t, const Sessions& sessions, realtime::ChatService& chat) {
  realtime::RouteOptions options;
  options.max_body = 16 * 1024;
  // Decided on the headers: a caller without a session is refused before
  // a byte of the body is read.
  options.admit = [&sessions](const HttpRequest& head, realtime::HttpDecision decide) {
    if (sessions.caller(head) == nullptr) return decide(error_response(Status::unauthorized("log in first")));
    decide(std::nullopt);
  };
  t.add_route("POST", "/api/rooms/{id}/announce", [&sessions, &chat](const HttpRequest& req, HttpResponder respond) {
    const Identity* who = sessions.caller(req);  // again: the session may have ended meanwhile
    if (who == nullptr) return respond(error_response(Status::unauthorized("log in first")));
    auto body = json_body(req);
    if (!body.ok()) return respond(error_response(body.status()));
    Json payload = Json::object({{"room", req.params.at("id")}, {"text", (*body)["text"]}});
    // The answer comes later, on the loop; `respond` may be kept until then.
    chat.call(realtime::Actor{*who, false}, "message:send", payload, [respond](Result<Json> r) {
      if (!r.ok()) return respond(error_response(r.status()));
      respond(json_response(201, *r));
    });
  }, options);
}

int fail(const std::string& what) {
  std::fprintf(stderr, "embed_lws_server: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  const Flags flags = parse_flags(argc, argv);
  if (flags.exit_code >= 0) return flags.exit_code;

  // 1. The transport: binds the port now, serves once run() is called.
  realtime::LwsOptions lws;
  lws.host = flags.host;
  lws.port = flags.port;
  auto created = realtime::LwsTransport::create(lws);
  if (!created.ok()) return fail(created.status().to_string());
  realtime::LwsTransport& transport = **created;

  // 2. The store. Its completions come back through the transport's loop,
  // so it is made after the transport and closed before it goes.
  std::unique_ptr<realtime::Store> store;
  if (flags.db.empty()) {
    store = realtime::make_memory_store(transport);
  } else {
    realtime::SqliteStoreOptions so;
    so.path = flags.db;
    auto opened = realtime::open_sqlite_store(so, transport);
    if (!opened.ok()) return fail(opened.status().to_string());
    store = std::move(opened).value();
  }

  realtime::SystemClock clock;
  Sessions sessions(flags.max_sessions);
  SessionAuthenticator auth(sessions);
  {
    // 3. Socket.IO on the transport, and the chat service on its default
    // namespace. Both are destroyed at the end of this block, after run()
    // has returned and closed every connection, and before the store is
    // closed and the transport destroyed.
    realtime::socketio::Server io(transport);
    io.set_authenticator(&auth);
    realtime::ChatService chat(io.of("/"), *store, transport, clock);

    // 4. The service's routes beside it, on the same port.
    add_service_routes(transport, sessions, io);
    add_announce_route(transport, sessions, chat);

    g_transport = &transport;
    std::signal(SIGTERM, on_signal);
    std::signal(SIGINT, on_signal);
    std::printf("listening on port %d\n", transport.port());
    std::fflush(stdout);
    transport.run();  // until a signal calls stop()
    g_transport = nullptr;
  }
  // 5. Every write the chat made is finished (and, for SQLite, durable)
  // once close() returns; then the transport goes with main's scope.
  store->close();
  std::puts("stopped");
  return 0;
}
