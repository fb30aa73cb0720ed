// floor: the lower bound of CPU per delivery in chatd's realistic benchmark
// (bench/realistic.sh, run from bench/run.sh --realistic). Started by that
// script, one process, one thread, one epoll loop; not part of the product.
//
// It does what any WebSocket fan-out server must do for bench/loadgen and
// nothing else: the HTTP upgrade (with a real Sec-WebSocket-Accept), the
// Engine.IO open packet, the Socket.IO connect, acks for room:create and
// room:join, and for message:send one message:new, built and framed once,
// written with one send() per member of the room (sender included, as chatd
// and the Node peer do), then the ack. A message is read from the frame with
// a few string searches; its text is copied as it came (already JSON).
//
// What it skips, on purpose, so that it stays the floor: JSON parsing and
// validation, authentication (the token is ignored), persistence, room
// membership checks, per-socket rooms beyond one, Engine.IO pings and
// timeouts, long-polling, fragmented and binary frames (the connection is
// closed), permessage-deflate, and every limit but two: a frame over
// 1 MiB and more than 4 MiB unsent to one socket close the connection.
//
// Usage: floor [PORT]   listens on 127.0.0.1:PORT (0 or none: any free
// port) and prints "listening port=N" once ready; SIGTERM ends it.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace {

constexpr std::size_t kMaxFrame = 1 << 20;
constexpr std::size_t kMaxUnsent = 4 << 20;

struct Conn {
  int fd = -1;
  bool upgraded = false;
  bool want_out = false;  // EPOLLOUT registered
  std::string in;         // received bytes not parsed yet
  std::string out;        // bytes the kernel did not take yet
  std::string user;
  std::string room;       // "" = none
};

struct Room {
  std::vector<Conn*> members;
  std::uint64_t seq = 0;
};

int g_ep = -1;
std::unordered_map<std::string, Room> g_rooms;
std::vector<Conn*> g_closed;  // freed after the current epoll batch
std::uint64_t g_next_id = 1;
std::uint64_t g_next_sid = 1;

// Closes now, frees after the batch: a later event of the same batch may
// still name this connection (it is skipped: fd < 0).
void close_conn(Conn* c) {
  if (c->fd < 0) return;
  if (!c->room.empty()) {
    auto& m = g_rooms[c->room].members;
    for (std::size_t i = 0; i < m.size(); ++i)
      if (m[i] == c) {
        m[i] = m.back();
        m.pop_back();
        break;
      }
  }
  ::close(c->fd);  // also leaves the epoll set
  c->fd = -1;
  g_closed.push_back(c);
}

void watch_out(Conn* c, bool on) {
  if (c->want_out == on) return;
  c->want_out = on;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0u);
  ev.data.ptr = c;
  ::epoll_ctl(g_ep, EPOLL_CTL_MOD, c->fd, &ev);
}

// One send() when nothing is queued; whatever the kernel leaves waits for
// EPOLLOUT. Returns false when the connection must be closed.
bool write_bytes(Conn* c, std::string_view b) {
  if (c->out.empty()) {
    const ssize_t n = ::send(c->fd, b.data(), b.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return false;
    const std::size_t sent = n > 0 ? static_cast<std::size_t>(n) : 0;
    if (sent == b.size()) return true;
    b.remove_prefix(sent);
  }
  if (c->out.size() + b.size() > kMaxUnsent) return false;
  c->out.append(b);
  watch_out(c, true);
  return true;
}

bool flush_out(Conn* c) {
  while (!c->out.empty()) {
    const ssize_t n = ::send(c->fd, c->out.data(), c->out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
    c->out.erase(0, static_cast<std::size_t>(n));
  }
  watch_out(c, false);
  return true;
}

// An unmasked text frame around payload.
std::string frame(std::string_view payload) {
  std::string f;
  const std::size_t n = payload.size();
  f.reserve(n + 10);
  f += static_cast<char>(0x81);
  if (n < 126) {
    f += static_cast<char>(n);
  } else if (n < 65536) {
    f += static_cast<char>(126);
    f += static_cast<char>(n >> 8);
    f += static_cast<char>(n & 0xff);
  } else {
    f += static_cast<char>(127);
    for (int i = 7; i >= 0; --i) f += static_cast<char>((n >> (8 * i)) & 0xff);
  }
  f.append(payload);
  return f;
}

// The JSON string value after `"key":"` (raw, still escaped), or "".
std::string_view field(std::string_view m, std::string_view key) {
  std::string pat = "\"";
  pat.append(key);
  pat.append("\":\"");
  const auto p = m.find(pat);
  if (p == std::string_view::npos) return {};
  std::size_t e = p + pat.size();
  while (e < m.size() && m[e] != '"') e += m[e] == '\\' ? 2 : 1;
  return m.substr(p + pat.size(), std::min(e, m.size()) - p - pat.size());
}

bool on_event(Conn* c, std::string_view m) {  // m = "42<id>[..."
  std::size_t i = 2;
  while (i < m.size() && m[i] >= '0' && m[i] <= '9') ++i;
  const std::string_view ack_id = m.substr(2, i - 2);
  const std::string_view body = m.substr(i);
  std::string ack = "43";
  ack.append(ack_id);
  if (body.starts_with("[\"room:join\"")) {
    const std::string_view room = field(body, "room");
    if (!c->room.empty() || room.empty()) {
      ack.append("[{\"ok\":false}]");
    } else {
      c->room = room;
      g_rooms[c->room].members.push_back(c);
      ack.append("[{\"ok\":true}]");
    }
  } else if (body.starts_with("[\"message:send\"")) {
    if (c->room.empty() || field(body, "room") != c->room) {
      ack.append("[{\"ok\":false}]");
    } else {
      Room& r = g_rooms[c->room];
      char when[32];
      const std::time_t now = std::time(nullptr);
      std::tm tm{};
      ::gmtime_r(&now, &tm);
      std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
      std::string msg = "{\"id\":\"";
      msg.append(std::to_string(g_next_id++));
      msg.append("\",\"room\":\"").append(c->room);
      msg.append("\",\"seq\":").append(std::to_string(++r.seq));
      msg.append(",\"senderId\":\"").append(c->user);
      msg.append("\",\"senderName\":\"").append(c->user);
      msg.append("\",\"senderRole\":\"user\",\"type\":\"text\",\"text\":\"").append(field(body, "text"));
      msg.append("\",\"replyTo\":null,\"attachment\":null,\"clientMsgId\":null,\"createdAt\":\"").append(when);
      msg.append("\",\"editedAt\":null,\"deleted\":false}");
      std::string ev = "42[\"message:new\",{\"message\":";
      ev.append(msg).append("}]");
      const std::string f = frame(ev);
      // One send per recipient: the floor's whole cost per delivery. A
      // member whose connection fails is closed after the loop.
      std::vector<Conn*> dead;
      for (Conn* to : r.members)
        if (!write_bytes(to, f)) dead.push_back(to);
      for (Conn* d : dead) close_conn(d);
      if (c->fd < 0) return false;
      ack.append("[{\"ok\":true,\"message\":").append(msg).append("}]");
    }
  } else {  // room:create and anything else: acked, nothing kept
    ack.append("[{\"ok\":true}]");
  }
  return ack_id.empty() || write_bytes(c, frame(ack));
}

bool on_message(Conn* c, std::string_view m) {
  if (m.starts_with("40")) {  // Socket.IO connect to "/"
    c->user = field(m, "userId");
    std::string r = "40{\"sid\":\"s";
    r.append(std::to_string(g_next_sid++)).append("\"}");
    return write_bytes(c, frame(r));
  }
  if (m.starts_with("42")) return on_event(c, m);
  return true;  // pongs ("3") and the rest
}

bool upgrade(Conn* c) {
  const auto end = c->in.find("\r\n\r\n");
  if (end == std::string::npos) return c->in.size() <= 8192;
  std::string head = c->in.substr(0, end);
  for (char& ch : head) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  const auto k = head.find("\r\nsec-websocket-key:");
  if (k == std::string::npos) {
    (void)write_bytes(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    return false;
  }
  std::size_t v = k + 20;
  while (v < end && c->in[v] == ' ') ++v;
  const std::size_t ve = c->in.find("\r\n", v);
  std::string key = c->in.substr(v, ve - v);
  key.append("258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
  unsigned char digest[SHA_DIGEST_LENGTH];
  ::SHA1(reinterpret_cast<const unsigned char*>(key.data()), key.size(), digest);
  unsigned char accept[32];
  ::EVP_EncodeBlock(accept, digest, SHA_DIGEST_LENGTH);
  std::string r = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ";
  r.append(reinterpret_cast<const char*>(accept)).append("\r\n\r\n");
  r.append(frame(
      "0{\"sid\":\"floor\",\"upgrades\":[],\"pingInterval\":25000,\"pingTimeout\":20000,\"maxPayload\":1000000}"));
  c->in.erase(0, end + 4);
  c->upgraded = true;
  return write_bytes(c, r);
}

// Returns false when the connection must be closed.
bool on_readable(Conn* c) {
  char buf[1 << 16];
  const ssize_t n = ::recv(c->fd, buf, sizeof buf, 0);
  if (n == 0) return false;
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  c->in.append(buf, static_cast<std::size_t>(n));
  if (!c->upgraded) {
    if (!upgrade(c)) return false;
    if (!c->upgraded) return true;  // the request is not complete yet
  }
  std::size_t pos = 0;
  auto* b = reinterpret_cast<unsigned char*>(c->in.data());
  while (c->in.size() - pos >= 2) {
    const unsigned op = b[pos] & 0x0f;
    const bool fin = (b[pos] & 0x80) != 0;
    const bool masked = (b[pos + 1] & 0x80) != 0;
    std::size_t len = b[pos + 1] & 0x7f, h = 2;
    if (len == 126) {
      if (c->in.size() - pos < 4) break;
      len = (std::size_t{b[pos + 2]} << 8) | b[pos + 3];
      h = 4;
    } else if (len == 127) {
      if (c->in.size() - pos < 10) break;
      len = 0;
      for (std::size_t i = 0; i < 8; ++i) len = (len << 8) | b[pos + 2 + i];
      h = 10;
    }
    if (len > kMaxFrame || !fin) return false;
    const std::size_t mh = masked ? 4 : 0;
    if (c->in.size() - pos < h + mh + len) break;
    unsigned char* p = b + pos + h + mh;
    if (masked)
      for (std::size_t i = 0; i < len; ++i) p[i] ^= b[pos + h + (i & 3)];
    pos += h + mh + len;
    const std::string_view payload(reinterpret_cast<const char*>(p), len);
    if (op == 0x8) return false;
    if (op == 0x9) {
      std::string pong = frame(payload);
      pong[0] = static_cast<char>(0x8a);
      if (!write_bytes(c, pong)) return false;
      continue;
    }
    if (op != 0x1) continue;
    if (!on_message(c, payload)) return false;
  }
  c->in.erase(0, pos);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const int port = argc > 1 ? std::atoi(argv[1]) : 0;
  const int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof a;
  if (::bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(lfd, 4096) != 0 ||
      ::getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &alen) != 0) {
    std::perror("floor: listen");
    return 1;
  }
  g_ep = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event lev{};
  lev.events = EPOLLIN;
  lev.data.ptr = nullptr;
  ::epoll_ctl(g_ep, EPOLL_CTL_ADD, lfd, &lev);
  std::printf("listening port=%d\n", ntohs(a.sin_port));
  std::fflush(stdout);
  std::vector<epoll_event> events(1024);
  for (;;) {
    const int n = ::epoll_wait(g_ep, events.data(), static_cast<int>(events.size()), -1);
    if (n < 0 && errno != EINTR) return 1;
    for (int i = 0; i < n; ++i) {
      auto* c = static_cast<Conn*>(events[static_cast<std::size_t>(i)].data.ptr);
      if (c && c->fd < 0) continue;
      if (!c) {  // the listener: take every pending connection
        for (;;) {
          const int fd = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (fd < 0) break;
          ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          auto* nc = new Conn;
          nc->fd = fd;
          epoll_event ev{};
          ev.events = EPOLLIN | EPOLLRDHUP;
          ev.data.ptr = nc;
          if (::epoll_ctl(g_ep, EPOLL_CTL_ADD, fd, &ev) != 0) close_conn(nc);
        }
        continue;
      }
      const std::uint32_t ev = events[static_cast<std::size_t>(i)].events;
      bool ok = true;
      if (ev & EPOLLOUT) ok = flush_out(c);
      if (ok && (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) ok = on_readable(c);
      if (!ok) close_conn(c);
    }
    for (Conn* c : g_closed) delete c;
    g_closed.clear();
  }
}
