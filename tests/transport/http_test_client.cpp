// Blocking loopback HTTP client for tests (see http_test_client.h).
#include "http_test_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdlib>

namespace realtime::testing {
namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return ms > 0 ? static_cast<int>(ms) : 0;
}

std::optional<HttpReply> parse(const std::string& raw, bool complete_only) {
  auto end = raw.find("\r\n\r\n");
  if (end == std::string::npos) return std::nullopt;
  HttpReply r;
  std::size_t line_end = raw.find("\r\n");
  std::string status_line = raw.substr(0, line_end);
  auto sp = status_line.find(' ');
  if (sp == std::string::npos) return std::nullopt;
  r.status = std::atoi(status_line.c_str() + sp + 1);
  std::size_t pos = line_end + 2;
  while (pos < end) {
    std::size_t eol = raw.find("\r\n", pos);
    std::string line = raw.substr(pos, eol - pos);
    auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers[name] = value;
    }
    pos = eol + 2;
  }
  r.body = raw.substr(end + 4);
  auto cl = r.headers.find("content-length");
  if (cl != r.headers.end()) {
    auto want = static_cast<std::size_t>(std::strtoull(cl->second.c_str(), nullptr, 10));
    // Closed early (or a HEAD answer): what came is the reply.
    if (r.body.size() < want && complete_only) return std::nullopt;
    if (r.body.size() > want) r.body.resize(want);
  } else if (complete_only) {
    return std::nullopt;
  }
  return r;
}

}  // namespace

std::optional<HttpReply> http_raw(int port, std::string_view request, int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return std::nullopt;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return std::nullopt;
  }
  std::size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  std::string raw;
  char buf[16384];
  std::optional<HttpReply> reply;
  while (!(reply = parse(raw, true))) {
    pollfd p{fd, POLLIN, 0};
    int ms = remaining_ms(deadline);
    if (ms == 0 || ::poll(&p, 1, ms) <= 0) break;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      reply = parse(raw, false);  // closed: take what came
      break;
    }
    raw.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return reply;
}

RawConnection::RawConnection(int port, const char* source_address) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) return;
  if (source_address != nullptr) {
    sockaddr_in src{};
    src.sin_family = AF_INET;
    ::inet_pton(AF_INET, source_address, &src.sin_addr);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
      ::close(fd_);
      fd_ = -1;
      return;
    }
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawConnection::send(std::string_view bytes) {
  while (fd_ >= 0 && !bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return fd_ >= 0;
}

std::optional<HttpReply> RawConnection::reply(int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  char buf[16384];
  while (fd_ >= 0) {
    if (auto r = parse(raw_, true)) return r;
    pollfd p{fd_, POLLIN, 0};
    int ms = remaining_ms(deadline);
    if (ms == 0 || ::poll(&p, 1, ms) <= 0) return std::nullopt;
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return parse(raw_, false);
    raw_.append(buf, static_cast<std::size_t>(n));
  }
  return std::nullopt;
}

bool RawConnection::closed_within(int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  char buf[16384];
  while (fd_ >= 0) {
    pollfd p{fd_, POLLIN, 0};
    int ms = remaining_ms(deadline);
    if (ms == 0 || ::poll(&p, 1, ms) <= 0) return false;
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return true;
    raw_.append(buf, static_cast<std::size_t>(n));
  }
  return true;
}

std::optional<HttpReply> http(int port, std::string_view method, std::string_view target,
                              std::string_view body, std::string_view extra_headers) {
  std::string req;
  req.append(method).append(" ").append(target).append(
      " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
  req.append(extra_headers);
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    req.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  }
  req.append("\r\n").append(body);
  return http_raw(port, req);
}

}  // namespace realtime::testing
