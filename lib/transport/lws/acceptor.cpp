// Acceptor (acceptor.h): an epoll thread that accepts, peeks at the first
// request line and hands each socket to the router. The listening socket
// is watched only while fewer than max_waiting connections wait, so a
// flood of silent connections fills the kernel's backlog, not our memory.
#include "realtime/acceptor.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace realtime {

namespace {

using Clock = std::chrono::steady_clock;

// Binds and listens on host:port; -1 and errno-based message on failure.
Result<int> listen_on(const AcceptorOptions& opt) {
  const bool any = opt.host.empty() || opt.host == "0.0.0.0";
  if (any) {
    // Every interface, IPv4 too, through one IPv6 socket where the kernel allows it.
    int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
      int zero = 0, one = 1;
      (void)::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
      (void)::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      sockaddr_in6 a{};
      a.sin6_family = AF_INET6;
      a.sin6_addr = in6addr_any;
      a.sin6_port = htons(static_cast<std::uint16_t>(opt.port));
      if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(fd, opt.backlog) == 0) return fd;
      ::close(fd);
    }
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(opt.port);
  if (int rc = ::getaddrinfo(any ? nullptr : opt.host.c_str(), port.c_str(), &hints, &res); rc != 0)
    return Status::unavailable(std::string("cannot resolve ").append(opt.host).append(": ").append(gai_strerror(rc)));
  std::string why = "no address";
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      why = std::strerror(errno);
      continue;
    }
    int one = 1;
    (void)::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(fd, opt.backlog) == 0) {
      ::freeaddrinfo(res);
      return fd;
    }
    why = std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(res);
  return Status::unavailable(std::string("cannot listen on ").append(opt.host).append(":").append(port).append(": ").append(why));
}

int bound_port(int fd) {
  sockaddr_storage a{};
  socklen_t len = sizeof a;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) return 0;
  if (a.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&a)->sin_port);
  if (a.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&a)->sin6_port);
  return 0;
}

}  // namespace

class Acceptor::Impl {
 public:
  Impl(AcceptorOptions opt, Router router, int listen_fd)
      : opt_(std::move(opt)), router_(std::move(router)), listen_fd_(listen_fd), port_(bound_port(listen_fd)) {}

  ~Impl() {
    if (thread_.joinable()) {
      std::uint64_t one = 1;
      (void)!::write(wake_fd_, &one, sizeof one);
      thread_.join();
    }
    for (auto& [fd, w] : waiting_) ::close(fd);
    for (auto& [fd, p] : pipes_) ::close(fd);
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
    if (wake_fd_ >= 0) ::close(wake_fd_);
    ::close(listen_fd_);
  }

  Status start() {
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epoll_fd_ < 0 || wake_fd_ < 0) return Status::unavailable(std::string("epoll: ").append(std::strerror(errno)));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = wake_fd_;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
    watch_listener(true);
    thread_ = std::thread([this] { serve(); });
    return {};
  }

  int port() const { return port_; }
  std::size_t waiting() const { return waiting_count_.load(); }
  std::size_t timed_out() const { return timed_out_.load(); }
  std::size_t forwarding() const { return pipe_count_.load(); }

  // On the acceptor's thread (from the router).
  void forward(int fd, const sockaddr_storage& to) {
    if (pipes_.size() / 2 >= opt_.max_forwarded) {
      ::close(fd);
      return;
    }
    const socklen_t len = to.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    int up = ::socket(to.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (up < 0 || (::connect(up, reinterpret_cast<const sockaddr*>(&to), len) != 0 && errno != EINPROGRESS)) {
      if (up >= 0) ::close(up);
      ::close(fd);
      return;
    }
    auto p = std::make_shared<Pipe>();
    p->client = fd;
    p->up = up;
    p->connect_deadline = Clock::now() + opt_.forward_connect_timeout;
    connect_deadlines_.emplace_back(p->connect_deadline, fd);
    pipes_[fd] = p;
    pipes_[up] = p;
    pipe_count_.store(pipes_.size() / 2);
    for (int f : {fd, up}) {
      epoll_event ev{};
      ev.events = interest(*p, f) | (f == fd ? static_cast<std::uint32_t>(EPOLLRDHUP) : 0u);
      ev.data.fd = f;
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, f, &ev);
    }
  }

 private:
  struct Waiting {
    Clock::time_point deadline;
    sockaddr_storage peer;
  };
  // A connection relayed byte for byte to another node (forward()).
  struct Pipe {
    int client = -1, up = -1;
    std::string to_up, to_client;  // read from one side, not yet written to the other
    bool connected = false, client_eof = false, up_eof = false, up_shut = false, client_shut = false;
    Clock::time_point connect_deadline;
  };
  static constexpr std::size_t kPipeBuffer = 256 * 1024;

  static std::uint32_t interest(const Pipe& p, int fd) {
    std::uint32_t ev = 0;
    if (!p.connected) return fd == p.up ? static_cast<std::uint32_t>(EPOLLOUT) : 0u;  // the client is read once the other side is up
    if (fd == p.client) {
      if (!p.client_eof && p.to_up.size() < kPipeBuffer) ev |= EPOLLIN;
      if (!p.to_client.empty()) ev |= EPOLLOUT;
    } else {
      if (!p.up_eof && p.to_client.size() < kPipeBuffer) ev |= EPOLLIN;
      if (!p.to_up.empty()) ev |= EPOLLOUT;
    }
    return ev;
  }

  // Reads what `from` has into `into`; false on an error.
  static bool pull(int from, std::string& into, bool& eof) {
    char buf[16384];
    while (!eof && into.size() < kPipeBuffer) {
      ssize_t n = ::read(from, buf, sizeof buf);
      if (n > 0) {
        into.append(buf, static_cast<std::size_t>(n));
      } else if (n == 0) {
        eof = true;
      } else {
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
      }
    }
    return true;
  }
  static bool push(int to, std::string& from) {
    while (!from.empty()) {
      ssize_t n = ::send(to, from.data(), from.size(), MSG_NOSIGNAL);
      if (n > 0) {
        from.erase(0, static_cast<std::size_t>(n));
      } else {
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
      }
    }
    return true;
  }

  void pump(const std::shared_ptr<Pipe>& pp, int fd, std::uint32_t events) {
    Pipe& p = *pp;
    bool ok = true;
    if (!p.connected) {
      if (fd == p.client) {
        // A client gone before the other node answered: nothing to relay.
        if ((events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP)) != 0) close_pipe(pp);
        return;
      }
      int err = 0;
      socklen_t len = sizeof err;
      if (::getsockopt(p.up, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) return close_pipe(pp);
      // Still connecting reports no error either; only a connected socket has a peer.
      sockaddr_storage peer{};
      socklen_t plen = sizeof peer;
      if (::getpeername(p.up, reinterpret_cast<sockaddr*>(&peer), &plen) != 0) return;
      p.connected = true;
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLRDHUP;
      ev.data.fd = p.client;
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, p.client, &ev);
    }
    ok = ok && pull(p.client, p.to_up, p.client_eof);
    ok = ok && pull(p.up, p.to_client, p.up_eof);
    ok = ok && push(p.up, p.to_up);
    ok = ok && push(p.client, p.to_client);
    if (!ok) return close_pipe(pp);
    if (p.client_eof && p.to_up.empty() && !p.up_shut) {
      ::shutdown(p.up, SHUT_WR);
      p.up_shut = true;
    }
    if (p.up_eof && p.to_client.empty() && !p.client_shut) {
      ::shutdown(p.client, SHUT_WR);
      p.client_shut = true;
    }
    if (p.up_shut && p.client_shut) return close_pipe(pp);
    for (int f : {p.client, p.up}) {
      epoll_event ev{};
      ev.events = interest(p, f);
      ev.data.fd = f;
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, f, &ev);
    }
  }

  void close_pipe(const std::shared_ptr<Pipe>& p) {
    for (int f : {p->client, p->up}) {
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, f, nullptr);
      pipes_.erase(f);
      ::close(f);
    }
    pipe_count_.store(pipes_.size() / 2);
  }

  void watch_listener(bool on) {
    if (on == listening_) return;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = listen_fd_;
    ::epoll_ctl(epoll_fd_, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, listen_fd_, &ev);
    listening_ = on;
  }

  void serve() {
    std::vector<epoll_event> events(64);
    std::string line(opt_.max_line_bytes, '\0');
    for (;;) {
      int timeout = -1;
      if (const auto next = earliest(); next != Clock::time_point::max())
        timeout = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(next - Clock::now()).count() + 1);
      if (timeout < -1) timeout = 0;
      int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), timeout);
      if (n < 0 && errno != EINTR) return;
      for (int i = 0; i < n; ++i) {
        const int fd = events[static_cast<std::size_t>(i)].data.fd;
        if (fd == wake_fd_) return;
        if (fd == listen_fd_) {
          accept_some();
        } else if (auto p = pipes_.find(fd); p != pipes_.end()) {
          auto keep = p->second;
          pump(keep, fd, events[static_cast<std::size_t>(i)].events);
        } else {
          peek(fd, line);
        }
      }
      expire();
      watch_listener(waiting_.size() < opt_.max_waiting);
    }
  }

  // Deadlines in the order they were set, which is their order (one
  // timeout for every waiting connection, one for every relay connecting):
  // the earliest is at the front. Entries whose connection has moved on are
  // skipped when they reach the front.
  bool waiting_due(const std::pair<Clock::time_point, int>& d) const {
    auto it = waiting_.find(d.second);
    return it != waiting_.end() && it->second.deadline == d.first;
  }
  bool connecting_due(const std::pair<Clock::time_point, int>& d) const {
    auto it = pipes_.find(d.second);
    return it != pipes_.end() && it->second->client == d.second && !it->second->connected &&
           it->second->connect_deadline == d.first;
  }
  Clock::time_point earliest() {
    while (!waiting_deadlines_.empty() && !waiting_due(waiting_deadlines_.front())) waiting_deadlines_.pop_front();
    while (!connect_deadlines_.empty() && !connecting_due(connect_deadlines_.front())) connect_deadlines_.pop_front();
    auto t = Clock::time_point::max();
    if (!waiting_deadlines_.empty()) t = waiting_deadlines_.front().first;
    if (!connect_deadlines_.empty()) t = std::min(t, connect_deadlines_.front().first);
    return t;
  }

  void accept_some() {
    for (int i = 0; i < 256 && waiting_.size() < opt_.max_waiting; ++i) {
      Waiting w{Clock::now() + opt_.first_line_timeout, {}};
      socklen_t len = sizeof w.peer;
      int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&w.peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;  // EAGAIN, or an error of that one connection
      if (!opt_.peek) {
        router_(fd, {}, w.peer);
        continue;
      }
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
      ev.data.fd = fd;
      if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
        ::close(fd);
        continue;
      }
      waiting_.emplace(fd, w);
      waiting_deadlines_.emplace_back(w.deadline, fd);
      waiting_count_.store(waiting_.size());
    }
  }

  // Edge-triggered: this runs once per arrival; what came stays on the socket.
  void peek(int fd, std::string& buf) {
    auto it = waiting_.find(fd);
    if (it == waiting_.end()) return;
    ssize_t got = ::recv(fd, buf.data(), buf.size(), MSG_PEEK);
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (got <= 0) {  // closed before a request, or an error
      drop(it, true);
      return;
    }
    std::string_view seen(buf.data(), static_cast<std::size_t>(got));
    std::size_t end = seen.find('\n');
    if (end == std::string_view::npos && seen.size() < buf.size()) return;  // more to come
    if (end != std::string_view::npos) seen = seen.substr(0, end);
    if (!seen.empty() && seen.back() == '\r') seen.remove_suffix(1);
    const sockaddr_storage peer = it->second.peer;
    drop(it, false);
    router_(fd, seen, peer);
  }

  void drop(std::unordered_map<int, Waiting>::iterator it, bool close_it) {
    const int fd = it->first;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    waiting_.erase(it);
    waiting_count_.store(waiting_.size());
    if (close_it) ::close(fd);
  }

  void expire() {
    const auto now = Clock::now();
    while (!waiting_deadlines_.empty() && waiting_deadlines_.front().first <= now) {
      const auto d = waiting_deadlines_.front();
      waiting_deadlines_.pop_front();
      if (!waiting_due(d)) continue;
      timed_out_.fetch_add(1);  // before the close a client may see
      drop(waiting_.find(d.second), true);
    }
    while (!connect_deadlines_.empty() && connect_deadlines_.front().first <= now) {
      const auto d = connect_deadlines_.front();
      connect_deadlines_.pop_front();
      if (!connecting_due(d)) continue;
      auto keep = pipes_.find(d.second)->second;
      close_pipe(keep);
    }
  }

  AcceptorOptions opt_;
  Router router_;
  int listen_fd_;
  int port_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  bool listening_ = false;
  std::unordered_map<int, Waiting> waiting_;  // the acceptor thread's only
  std::deque<std::pair<Clock::time_point, int>> waiting_deadlines_, connect_deadlines_;  // (deadline, fd)
  std::atomic<std::size_t> waiting_count_{0};
  std::atomic<std::size_t> timed_out_{0};
  std::unordered_map<int, std::shared_ptr<Pipe>> pipes_;  // both fds of each; the acceptor thread's only
  std::atomic<std::size_t> pipe_count_{0};
  std::thread thread_;
};

Result<std::unique_ptr<Acceptor>> Acceptor::create(AcceptorOptions options, Router router) {
  auto fd = listen_on(options);
  if (!fd.ok()) return fd.status();
  auto impl = std::make_unique<Impl>(std::move(options), std::move(router), *fd);
  if (auto s = impl->start(); !s.ok()) return s;
  return std::unique_ptr<Acceptor>(new Acceptor(std::move(impl)));
}

Acceptor::Acceptor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Acceptor::~Acceptor() = default;
int Acceptor::port() const { return impl_->port(); }
std::size_t Acceptor::waiting() const { return impl_->waiting(); }
std::size_t Acceptor::timed_out() const { return impl_->timed_out(); }
std::size_t Acceptor::forwarding() const { return impl_->forwarding(); }
void Acceptor::forward(int fd, const sockaddr_storage& to) { impl_->forward(fd, to); }

std::string_view request_line_path(std::string_view line) {
  std::size_t sp = line.find(' ');
  if (sp == std::string_view::npos) return {};
  std::string_view target = line.substr(sp + 1);
  target = target.substr(0, target.find(' '));
  return target.substr(0, target.find('?'));
}

std::string_view request_line_sid(std::string_view line) {
  std::size_t sp = line.find(' ');
  if (sp == std::string_view::npos) return {};
  std::string_view target = line.substr(sp + 1);
  target = target.substr(0, target.find(' '));
  std::size_t q = target.find('?');
  if (q == std::string_view::npos) return {};
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    std::string_view pair = query.substr(0, query.find('&'));
    if (pair.substr(0, 4) == "sid=") return pair.substr(4);
    if (pair.size() == query.size()) break;
    query.remove_prefix(pair.size() + 1);
  }
  return {};
}

}  // namespace realtime
