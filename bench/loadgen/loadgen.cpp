// loadgen: the load generator of chatd's benchmarks (bench/run.sh).
//
// One thread, one event loop, tens of thousands of WebSocket connections
// speaking Engine.IO v4 / Socket.IO v5 directly
// (/socket.io/?EIO=4&transport=websocket): it answers pings, connects to
// namespace "/" with auth {token, userId}, creates and joins rooms and sends
// message:send events with ack ids at a set rate. Each message's text starts
// with its send time (steady clock, ns), so the delivery latency of every
// message:new is measured without a JSON parse: the receiver finds
// `"text":"T` and reads the digits. Connections are spread over several
// loopback source addresses (127.0.0.x).
//
// Two WebSocket clients, same protocol code above them: `--client raw`
// (default) is a minimal RFC 6455 client on epoll that reads up to 64 KiB
// per socket per wakeup and parses frame headers only, and flushes each
// socket's queued frames with one write per loop pass; `--client lws` is a
// libwebsockets 4.1 client context (poll loop; source address bound with
// lws' `iface`). The lws client parses received frames one byte at a time
// (lws_ws_client_rx_sm was 77% of its instructions under callgrind), which
// made it several times costlier per delivered message than chatd itself,
// so the raw client is the measuring one and lws the cross-check.
//
// Several servers (a cluster): --port takes a list, and client i connects
// to the (i mod n)-th port, so each room's consecutive members alternate
// between the nodes; --server-pid takes the matching list, and --extra-pid
// names processes the servers depend on (Redis, PostgreSQL) whose CPU,
// children included, is counted with theirs.
//
// Scenarios: fanout (rooms x members, rising send rate; with
// --per-room-rates the rate is per room and the rooms take turns, the
// realistic regime of bench/realistic.sh), pairs (1:1 rooms,
// acked messages), idle (memory per connection), storm (connections per
// second until the first failure), smoke (a few clients, checks that every
// message arrived). Results are printed as `result key=value ...` lines
// that run.sh reads; the server's RSS and CPU come from /proc/<pid>.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <libwebsockets.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "histogram.h"
#include "realtime/clock.h"
#include "realtime/jwt_authenticator.h"

namespace {

using Clock = std::chrono::steady_clock;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}
double seconds_since(std::int64_t t0) { return static_cast<double>(now_ns() - t0) / 1e9; }

// ---- options ---------------------------------------------------------------

struct Options {
  std::string scenario = "smoke";
  std::string host = "127.0.0.1";
  std::vector<int> ports;        // client i connects to ports[i % size]
  int sources = 1;               // 127.0.0.<source_first> .. + <sources> - 1
  int source_first = 1;
  std::string jwt_secret;        // empty: token = user id (peers don't verify)
  std::vector<int> server_pids;  // for /proc figures (CPU summed, RSS summed); empty = none
  std::vector<int> extra_pids;   // CPU only, with their children (Redis, PostgreSQL)
  int rooms = 50;
  int members = 100;
  int pairs = 5000;
  std::vector<double> rates;     // offered messages/s, one per step
  // --per-room-rates: rates were given per room (multiplied by rooms in
  // run()), and senders take turns across rooms, so each room's messages
  // are evenly spaced in time rather than one room's members in a row.
  bool per_room = false;
  double step_seconds = 5;
  double settle_seconds = 1;
  double p99_limit_ms = 50;
  int conns = 5000;              // idle: first level; storm: how many to try
  int conns_max = 0;             // idle: second level (0 = skip)
  int window = 200;              // connection handshakes in flight
  double timeout_seconds = 600;  // hard cap on the whole run
  std::string prefix = "u";      // user / room id prefix, unique per scenario
  std::string client = "raw";    // raw (epoll) or lws
};

[[noreturn]] void usage(const char* msg) {
  std::fprintf(stderr,
               "loadgen: %s\n"
               "usage: loadgen --scenario fanout|pairs|idle|storm|smoke --port N[,N2...] [--host 127.0.0.1]\n"
               "  [--sources K] [--source-first F] [--jwt-secret S] [--server-pid P[,P2...]] [--extra-pid P[,...]]\n"
               "  [--rooms R] [--members M] [--pairs N]\n"
               "  [--rates r1,r2,... | --per-room-rates r1,r2,...] [--step-seconds S] [--settle-seconds S] [--p99-limit-ms L]\n"
               "  [--conns N] [--conns-max N] [--window W] [--timeout S] [--prefix ID] [--client raw|lws]\n",
               msg);
  std::exit(2);
}

std::vector<int> int_list(const std::string& v) {
  std::vector<int> out;
  std::stringstream in(v);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(std::atoi(item.c_str()));
  return out;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (k == "--help" || k == "-h") usage("help");
    if (i + 1 >= argc) usage(("missing value for " + k).c_str());
    std::string v = argv[++i];
    auto num = [&] { return std::atof(v.c_str()); };
    if (k == "--scenario") o.scenario = v;
    else if (k == "--host") o.host = v;
    else if (k == "--port") o.ports = int_list(v);
    else if (k == "--sources") o.sources = std::clamp(static_cast<int>(num()), 1, 250);
    else if (k == "--source-first") o.source_first = std::clamp(static_cast<int>(num()), 1, 250);
    else if (k == "--jwt-secret") o.jwt_secret = v;
    else if (k == "--server-pid") o.server_pids = int_list(v);
    else if (k == "--extra-pid") o.extra_pids = int_list(v);
    else if (k == "--rooms") o.rooms = static_cast<int>(num());
    else if (k == "--members") o.members = static_cast<int>(num());
    else if (k == "--pairs") o.pairs = static_cast<int>(num());
    else if (k == "--rates") {
      std::stringstream in(v);
      std::string r;
      while (std::getline(in, r, ',')) o.rates.push_back(std::atof(r.c_str()));
    } else if (k == "--per-room-rates") {
      std::stringstream in(v);
      std::string r;
      o.rates.clear();
      while (std::getline(in, r, ',')) o.rates.push_back(std::atof(r.c_str()));
      o.per_room = true;
    } else if (k == "--step-seconds") o.step_seconds = num();
    else if (k == "--settle-seconds") o.settle_seconds = num();
    else if (k == "--p99-limit-ms") o.p99_limit_ms = num();
    else if (k == "--conns") o.conns = static_cast<int>(num());
    else if (k == "--conns-max") o.conns_max = static_cast<int>(num());
    else if (k == "--window") o.window = std::max(1, static_cast<int>(num()));
    else if (k == "--timeout") o.timeout_seconds = num();
    else if (k == "--prefix") o.prefix = v;
    else if (k == "--client") o.client = v;
    else usage(("unknown option " + k).c_str());
  }
  if (o.rates.empty()) o.rates = {10};
  if (o.ports.empty()) o.ports = {8080};
  if (o.source_first + o.sources - 1 > 254) usage("--source-first + --sources must stay within 127.0.0.254");
  return o;
}

// ---- /proc figures ---------------------------------------------------------

struct ProcSample {
  double cpu_s = 0;       // utime + stime
  double sys_s = 0;       // stime alone: the kernel's share (sockets, loopback TCP)
  double rss_bytes = 0;
};

ProcSample sample_pid(int pid) {
  ProcSample s;
  if (pid <= 0) return s;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  auto close = line.rfind(')');
  if (close != std::string::npos) {
    std::istringstream in(line.substr(close + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int i = 0; in >> field; ++i) {  // i = 0 is field 3 (state)
      if (i == 11) utime = std::atof(field.c_str());
      if (i == 12) {
        stime = std::atof(field.c_str());
        break;
      }
    }
    s.cpu_s = (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
    s.sys_s = stime / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  std::ifstream statm("/proc/" + std::to_string(pid) + "/statm");
  double size = 0, resident = 0;
  statm >> size >> resident;
  s.rss_bytes = resident * static_cast<double>(sysconf(_SC_PAGESIZE));
  return s;
}

// CPU of pid and of all its descendants, live (utime + stime) and reaped
// (cutime + cstime): PostgreSQL's work is done in backends, children of the
// postmaster. Scans /proc; called twice per measured step.
double tree_cpu_s(int root) {
  if (root <= 0) return 0;
  struct Proc {
    int pid, ppid;
    double cpu;
  };
  std::vector<Proc> procs;
  const double tck = static_cast<double>(sysconf(_SC_CLK_TCK));
  if (DIR* d = ::opendir("/proc")) {
    while (dirent* e = ::readdir(d)) {
      const int pid = std::atoi(e->d_name);
      if (pid <= 0) continue;
      std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
      std::string line;
      if (!std::getline(stat, line)) continue;
      const auto close = line.rfind(')');
      if (close == std::string::npos) continue;
      std::istringstream in(line.substr(close + 2));
      std::string field;
      int ppid = 0;
      double t = 0;
      for (int i = 0; in >> field && i <= 14; ++i) {  // i = 0 is field 3 (state)
        if (i == 1) ppid = std::atoi(field.c_str());
        if (i >= 11 && i <= 14) t += std::atof(field.c_str());  // utime stime cutime cstime
      }
      procs.push_back({pid, ppid, t / tck});
    }
    ::closedir(d);
  }
  double total = 0;
  std::vector<int> todo{root};
  // Bounded: each process is visited at most once (a pid has one parent).
  for (std::size_t i = 0; i < todo.size() && i < procs.size() + 1; ++i)
    for (const Proc& p : procs) {
      if (p.pid == todo[i]) total += p.cpu;
      if (p.ppid == todo[i]) todo.push_back(p.pid);
    }
  return total;
}

// The figures of a set of servers: CPU summed over the servers and their
// extras, RSS over the servers alone.
struct GroupSample {
  double cpu_s = 0;    // servers + extras
  double sys_s = 0;    // servers' stime
  double extra_s = 0;  // extras alone
  std::vector<double> extra_each;  // per extra pid, in --extra-pid order
  double rss_bytes = 0;
};

GroupSample sample_group(const std::vector<int>& servers, const std::vector<int>& extras) {
  GroupSample g;
  for (int pid : servers) {
    const ProcSample s = sample_pid(pid);
    g.cpu_s += s.cpu_s;
    g.sys_s += s.sys_s;
    g.rss_bytes += s.rss_bytes;
  }
  for (int pid : extras) {
    g.extra_each.push_back(tree_cpu_s(pid));
    g.extra_s += g.extra_each.back();
  }
  g.cpu_s += g.extra_s;
  return g;
}

double self_cpu_s() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// ---- clients ---------------------------------------------------------------

enum class State { idle, connecting, open, connected, dead };
enum class AckKind : std::uint8_t { create, join, send };

struct PendingAck {
  std::uint64_t id;
  AckKind kind;
  std::int64_t sent_ns;
};

struct Client {
  int index = 0;
  int node = 0;              // index into Options::ports
  std::string user;
  std::string room;          // the one room this client is in ("" = none)
  bool creator = false;      // sends room:create for its room
  State state = State::idle;
  lws* wsi = nullptr;
  // raw client
  int fd = -1;
  bool upgraded = false;     // HTTP 101 seen
  bool dirty = false;        // in the flush list
  std::string rbuf;          // received bytes not parsed yet
  std::string wbuf;          // frames not written yet
  std::deque<std::string> out;
  std::deque<PendingAck> acks;
  std::uint64_t next_ack = 1;
  std::string rx;            // a fragmented message being assembled
  std::int64_t connect_started = 0;
};

struct Window {  // one measurement window
  bench::Histogram delivery;  // send -> message:new
  bench::Histogram ack;       // send -> ack
  std::uint64_t delivered = 0;
  std::uint64_t acked = 0;
  std::uint64_t sent = 0;
  std::uint64_t errors = 0;
  void clear() {
    delivery.clear();
    ack.clear();
    delivered = acked = sent = errors = 0;
  }
};

class LoadGen {
 public:
  explicit LoadGen(Options o) : o_(std::move(o)) {}
  int run();

  // lws callback entry
  int on_event(lws* wsi, lws_callback_reasons reason, void* in, std::size_t len);

 private:
  void tick();
  void start_connect(Client& c);
  void enqueue(Client& c, std::string msg);
  void emit(Client& c, AckKind kind, const std::string& event, const std::string& json);
  void on_message(Client& c, std::string_view m);
  void on_ack(Client& c, std::string_view m);
  void client_lost(Client& c, const char* why);
  void connect_more();
  void send_due();
  // raw epoll client
  void raw_connect(Client& c);
  void raw_readable(Client& c);
  void raw_flush(Client& c);
  void raw_parse(Client& c);
  int run_raw();
  bool raw_ = true;
  int ep_ = -1;
  std::vector<Client*> dirty_;
  std::vector<std::string> upgrade_reqs_;  // one per port (the Host header)
  void finish(int code) {
    done_ = true;
    exit_code_ = code;
  }
  void phase_steps();
  void phase_idle();
  void phase_storm();
  void report_step(double rate);

  Options o_;
  lws_context* ctx_ = nullptr;
  std::vector<Client> clients_;
  std::vector<std::string> sources_;
  std::unique_ptr<realtime::JwtAuthenticator> jwt_;
  realtime::SystemClock wall_;
  std::vector<char> wbuf_ = std::vector<char>(LWS_PRE + (1 << 16));

  // connection progress
  int to_connect_ = 0;      // clients [0, to_connect_) should be connected
  int next_connect_ = 0;    // next client to start
  int in_flight_ = 0;
  int connected_ = 0;
  int failed_ = 0;
  int lost_ = 0;
  std::string first_failure_;
  std::int64_t first_failure_ns_ = 0;
  std::int64_t connect_phase_start_ = 0;
  std::int64_t last_connect_done_ = 0;

  // setup acks
  int creates_pending_ = 0;
  int joins_pending_ = 0;
  int ack_errors_ = 0;
  std::string first_ack_error_;

  // sending
  bool sending_ = false;
  double rate_ = 0;
  std::int64_t rate_start_ = 0;
  std::uint64_t rate_sent_ = 0;
  std::size_t next_sender_ = 0;
  std::uint64_t total_sent_ = 0;
  std::uint64_t total_delivered_ = 0;
  std::uint64_t total_acked_ = 0;
  std::uint64_t total_frames_ = 0;
  std::uint64_t quiet_frames_ = 0;
  std::int64_t quiet_since_ = 0;
  bool recording_ = false;
  Window win_;

  // phase machine
  int phase_ = 0;
  std::int64_t phase_t0_ = 0;
  std::size_t step_ = 0;
  GroupSample srv0_;
  double self0_ = 0;
  double best_rate_ = -1;
  std::string best_line_;
  bool done_ = false;
  int exit_code_ = 0;
  std::int64_t start_ns_ = 0;
  double baseline_rss_ = 0;
  lws_sorted_usec_list_t sul_{};
  friend void tick_cb(lws_sorted_usec_list_t*);
};

LoadGen* g_gen = nullptr;

int callback(lws* wsi, lws_callback_reasons reason, void* /*user*/, void* in, std::size_t len) {
  return g_gen ? g_gen->on_event(wsi, reason, in, len) : 0;
}

void tick_cb(lws_sorted_usec_list_t* /*sul*/) {
  if (!g_gen || g_gen->done_) return;
  g_gen->tick();
  lws_sul_schedule(g_gen->ctx_, 0, &g_gen->sul_, tick_cb, g_gen->sending_ ? 1000 : 5000);
}

void LoadGen::start_connect(Client& c) {
  if (raw_) {
    raw_connect(c);
    return;
  }
  lws_client_connect_info ci{};
  ci.context = ctx_;
  ci.address = o_.host.c_str();
  ci.port = o_.ports[static_cast<std::size_t>(c.node)];
  ci.path = "/socket.io/?EIO=4&transport=websocket";
  ci.host = o_.host.c_str();
  ci.origin = o_.host.c_str();
  ci.ietf_version_or_minus_one = -1;
  ci.local_protocol_name = "loadgen";
  ci.iface = sources_[static_cast<std::size_t>(c.index) % sources_.size()].c_str();
  ci.opaque_user_data = &c;
  ci.pwsi = &c.wsi;
  c.state = State::connecting;
  c.connect_started = now_ns();
  ++in_flight_;
  if (!lws_client_connect_via_info(&ci)) client_lost(c, "connect failed at once");
}

void LoadGen::client_lost(Client& c, const char* why) {
  if (c.state == State::dead || c.state == State::idle) return;
  const bool was_connected = c.state == State::connected;
  if (!was_connected) {
    --in_flight_;
    ++failed_;
  } else {
    --connected_;
    ++lost_;
  }
  if (first_failure_.empty()) {
    first_failure_ = why;
    first_failure_ns_ = now_ns();
  }
  c.state = State::dead;
  c.wsi = nullptr;
  c.out.clear();
  if (c.fd >= 0) {
    ::close(c.fd);  // also leaves the epoll set
    c.fd = -1;
  }
  c.wbuf.clear();
  c.rbuf.clear();
}

void LoadGen::connect_more() {
  while (next_connect_ < to_connect_ && in_flight_ < o_.window) start_connect(clients_[static_cast<std::size_t>(next_connect_++)]);
}

void LoadGen::enqueue(Client& c, std::string msg) {
  if (raw_) {
    if (c.fd < 0 || c.state == State::dead) return;
    // One masked text frame; the mask key is zero, so the payload goes as is.
    const std::size_t n = msg.size();
    c.wbuf += static_cast<char>(0x81);
    if (n < 126) {
      c.wbuf += static_cast<char>(0x80 | n);
    } else if (n < 65536) {
      c.wbuf += static_cast<char>(0x80 | 126);
      c.wbuf += static_cast<char>(n >> 8);
      c.wbuf += static_cast<char>(n & 0xff);
    } else {
      c.wbuf += static_cast<char>(0x80 | 127);
      for (int i = 7; i >= 0; --i) c.wbuf += static_cast<char>((n >> (8 * i)) & 0xff);
    }
    c.wbuf.append(4, '\0');
    c.wbuf += msg;
    if (!c.dirty) {
      c.dirty = true;
      dirty_.push_back(&c);
    }
    return;
  }
  if (!c.wsi || c.state == State::dead) return;
  c.out.push_back(std::move(msg));
  if (c.out.size() == 1) lws_callback_on_writable(c.wsi);
}

void LoadGen::emit(Client& c, AckKind kind, const std::string& event, const std::string& json) {
  const std::uint64_t id = c.next_ack++;
  const std::int64_t t = now_ns();
  c.acks.push_back({id, kind, t});
  std::string m = "42" + std::to_string(id) + "[\"" + event + "\",";
  if (kind == AckKind::send) {
    m += "{\"room\":\"" + c.room + "\",\"text\":\"T" + std::to_string(t) + " hello from the load generator\"}]";
  } else {
    m += json + "]";
  }
  enqueue(c, std::move(m));
}

int LoadGen::on_event(lws* wsi, lws_callback_reasons reason, void* in, std::size_t len) {
  auto* c = static_cast<Client*>(lws_get_opaque_user_data(wsi));
  switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
      if (c) client_lost(*c, in && len ? "connection error" : "connection error");
      if (c && in) {
        if (first_failure_ == "connection error") first_failure_ = std::string("connection error: ") + static_cast<const char*>(in);
      }
      break;
    case LWS_CALLBACK_CLIENT_CLOSED:
      if (c) client_lost(*c, "closed by the server");
      break;
    case LWS_CALLBACK_CLIENT_RECEIVE: {
      if (!c) break;
      const char* p = static_cast<const char*>(in);
      const bool first = lws_is_first_fragment(wsi) != 0;
      const bool final = lws_is_final_fragment(wsi) != 0 && lws_remaining_packet_payload(wsi) == 0;
      if (first && final) {
        on_message(*c, std::string_view(p, len));
      } else {
        if (first) c->rx.clear();
        c->rx.append(p, len);
        if (final) {
          std::string whole;
          whole.swap(c->rx);
          on_message(*c, whole);
        }
      }
      break;
    }
    case LWS_CALLBACK_CLIENT_WRITEABLE: {
      if (!c || c->out.empty()) break;
      const std::string& m = c->out.front();
      if (m.size() + LWS_PRE > wbuf_.size()) wbuf_.resize(m.size() + LWS_PRE);
      std::memcpy(wbuf_.data() + LWS_PRE, m.data(), m.size());
      const int n = lws_write(wsi, reinterpret_cast<unsigned char*>(wbuf_.data() + LWS_PRE), m.size(), LWS_WRITE_TEXT);
      c->out.pop_front();
      if (n < 0) return -1;
      if (!c->out.empty()) lws_callback_on_writable(wsi);
      break;
    }
    default:
      break;
  }
  return 0;
}

// Reads a decimal number at the start of s; stops at the first non-digit.
std::uint64_t leading_number(std::string_view s, std::size_t* used = nullptr) {
  std::uint64_t v = 0;
  std::size_t i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') v = v * 10 + static_cast<std::uint64_t>(s[i++] - '0');
  if (used) *used = i;
  return v;
}

void LoadGen::on_message(Client& c, std::string_view m) {
  ++total_frames_;
  if (m.empty()) return;
  switch (m[0]) {
    case '0': {  // Engine.IO open: join namespace "/" with auth
      c.state = State::open;
      std::string token = c.user;
      if (jwt_) token = jwt_->sign(realtime::Identity{c.user, c.user, "user"}, std::chrono::hours(2));
      enqueue(c, "40{\"token\":\"" + token + "\",\"userId\":\"" + c.user + "\"}");
      return;
    }
    case '2':  // ping
      enqueue(c, "3");
      return;
    case '4':
      break;
    default:
      return;
  }
  if (m.size() < 2) return;
  if (m[1] == '2') {  // event: only message:new is measured
    static constexpr std::string_view kNew = "[\"message:new\"";
    if (m.substr(2, kNew.size()) != kNew) return;
    static constexpr std::string_view kText = "\"text\":\"T";
    auto pos = m.find(kText);
    if (pos == std::string_view::npos) return;
    const auto sent = static_cast<std::int64_t>(leading_number(m.substr(pos + kText.size())));
    ++total_delivered_;
    if (recording_) {
      ++win_.delivered;
      win_.delivery.record(now_ns() - sent);
    }
  } else if (m[1] == '3') {
    on_ack(c, m.substr(2));
  } else if (m[1] == '0') {  // namespace connected
    if (c.state == State::open) {
      c.state = State::connected;
      --in_flight_;
      ++connected_;
      last_connect_done_ = now_ns();
    }
  } else if (m[1] == '4') {
    if (first_failure_.empty()) {
      first_failure_ = "connect_error " + std::string(m.substr(0, 120));
      first_failure_ns_ = now_ns();
    }
    if (c.state == State::open) {
      --in_flight_;
      ++failed_;
      c.state = State::dead;
    }
  }
}

void LoadGen::on_ack(Client& c, std::string_view m) {
  std::size_t used = 0;
  const std::uint64_t id = leading_number(m, &used);
  auto it = c.acks.begin();
  while (it != c.acks.end() && it->id != id) ++it;
  if (it == c.acks.end()) return;
  const PendingAck a = *it;
  c.acks.erase(it);
  const bool ok = m.find("\"ok\":true") != std::string_view::npos;
  if (!ok) {
    ++ack_errors_;
    if (recording_) ++win_.errors;
    if (first_ack_error_.empty()) first_ack_error_ = std::string(m.substr(0, 200));
  }
  switch (a.kind) {
    case AckKind::create:
      --creates_pending_;
      break;
    case AckKind::join:
      --joins_pending_;
      break;
    case AckKind::send:
      ++total_acked_;
      if (recording_ && ok) {
        ++win_.acked;
        win_.ack.record(now_ns() - a.sent_ns);
      }
      break;
  }
}

void LoadGen::send_due() {
  if (!sending_ || rate_ <= 0) return;
  const double elapsed = static_cast<double>(now_ns() - rate_start_) / 1e9;
  auto due = static_cast<std::uint64_t>(elapsed * rate_);
  if (due <= rate_sent_) return;
  std::uint64_t n = due - rate_sent_;
  // Never more than 50 ms worth in one tick: if the loop fell behind, the
  // backlog is dropped (and shows as a lower delivered rate), not burst.
  const auto cap = static_cast<std::uint64_t>(std::max(1.0, rate_ * 0.05));
  if (n > cap) {
    rate_sent_ += n - cap;
    n = cap;
  }
  for (std::uint64_t i = 0; i < n; ++i) {
    for (std::size_t tries = 0; tries < clients_.size(); ++tries) {
      std::size_t who = next_sender_;
      if (o_.per_room) {  // k-th send: room k mod rooms, its (k / rooms)-th member in turn
        const auto rooms = static_cast<std::size_t>(o_.rooms), members = static_cast<std::size_t>(o_.members);
        who = (next_sender_ % rooms) * members + (next_sender_ / rooms) % members;
      }
      Client& c = clients_[who];
      next_sender_ = (next_sender_ + 1) % clients_.size();
      if (c.state == State::connected && !c.room.empty()) {
        emit(c, AckKind::send, "message:send", "");
        ++total_sent_;
        if (recording_) ++win_.sent;
        break;
      }
    }
    ++rate_sent_;
  }
}

void LoadGen::report_step(double rate) {
  const GroupSample srv = sample_group(o_.server_pids, o_.extra_pids);
  const double secs = o_.step_seconds;
  const double self = self_cpu_s() - self0_;
  const double scpu = srv.cpu_s - srv0_.cpu_s;
  const double delivered_ps = static_cast<double>(win_.delivered) / secs;
  const double p99 = win_.delivery.quantile(0.99) / 1e6;
  const double ack_p99 = win_.ack.quantile(0.99) / 1e6;
  const double cpu_per = win_.delivered ? scpu * 1e6 / static_cast<double>(win_.delivered) : -1;
  const double sys_per = win_.delivered ? (srv.sys_s - srv0_.sys_s) * 1e6 / static_cast<double>(win_.delivered) : -1;
  const double extra = srv.extra_s - srv0_.extra_s;
  // The regime: messages per second that reach one socket.
  const double per_socket = clients_.empty() ? 0 : delivered_ps / static_cast<double>(clients_.size());
  char line[1400];
  std::snprintf(line, sizeof line,
                "offered=%.0f sent_per_s=%.0f delivered_per_s=%.0f acked_per_s=%.0f p50_ms=%.3f p99_ms=%.3f "
                "p999_ms=%.3f ack_p50_ms=%.3f ack_p99_ms=%.3f ack_p999_ms=%.3f server_cpu_pct=%.1f "
                "server_cpu_us_per_msg=%.3f server_sys_us_per_msg=%.3f loadgen_cpu_pct=%.1f loadgen_cpu_us_per_msg=%.3f "
                "rss_mib=%.1f errors=%llu lost=%d extra_cpu_pct=%.1f extra_cpu_us_per_msg=%.3f per_socket_per_s=%.2f "
                "per_room_per_s=%.2f",
                rate, static_cast<double>(win_.sent) / secs, delivered_ps, static_cast<double>(win_.acked) / secs,
                win_.delivery.quantile(0.5) / 1e6, p99, win_.delivery.quantile(0.999) / 1e6,
                win_.ack.quantile(0.5) / 1e6, ack_p99, win_.ack.quantile(0.999) / 1e6, 100 * scpu / secs, cpu_per,
                sys_per, 100 * self / secs, win_.delivered ? self * 1e6 / static_cast<double>(win_.delivered) : -1,
                srv.rss_bytes / 1048576, static_cast<unsigned long long>(win_.errors), lost_, 100 * extra / secs,
                win_.delivered ? extra * 1e6 / static_cast<double>(win_.delivered) : -1, per_socket,
                o_.rooms > 0 ? rate / o_.rooms : 0);
  // Each extra's share, so that Redis and PostgreSQL can be told apart.
  std::string each;
  for (std::size_t i = 0; i < srv.extra_each.size() && i < srv0_.extra_each.size(); ++i) {
    const double d = srv.extra_each[i] - srv0_.extra_each[i];
    char v[32];
    std::snprintf(v, sizeof v, "%s%.3f", i ? "," : "", win_.delivered ? d * 1e6 / static_cast<double>(win_.delivered) : -1);
    each += v;
  }
  if (!each.empty()) {
    std::snprintf(line + std::strlen(line), sizeof line - std::strlen(line), " extra_each_us_per_msg=%s", each.c_str());
  }
  std::printf("step %s\n", line);
  if (step_ == 0) std::printf("result ref %s\n", line);
  std::fflush(stdout);
  const bool pairs = o_.scenario == "pairs";
  const double gate = (pairs ? win_.ack.count() : win_.delivery.count()) ? (pairs ? ack_p99 : p99) : 1e300;
  const double expected = static_cast<double>(win_.sent) * (pairs ? 2.0 : o_.members) / secs;
  const bool kept_up = delivered_ps >= 0.9 * expected && static_cast<double>(win_.sent) >= 0.9 * rate * secs;
  const bool under = gate <= o_.p99_limit_ms && kept_up && win_.errors == 0 && lost_ == 0;
  if (under && delivered_ps > best_rate_) {
    best_rate_ = delivered_ps;
    best_line_ = line;
  }
  if (!under) step_ = o_.rates.size();  // past the line: stop rising
}

void LoadGen::tick() {
  if (seconds_since(start_ns_) > o_.timeout_seconds) {
    std::printf("result error=timeout phase=%d connected=%d creates_pending=%d joins_pending=%d\n", phase_, connected_,
                creates_pending_, joins_pending_);
    finish(1);
    return;
  }
  connect_more();
  send_due();
  const bool rooms_scenario = o_.scenario == "fanout" || o_.scenario == "pairs" || o_.scenario == "smoke";
  if (rooms_scenario) {
    switch (phase_) {
      case 0:  // connecting
        if (connected_ + failed_ >= to_connect_) {
          if (failed_) {
            std::printf("result error=connect failed=%d first_failure=\"%s\"\n", failed_, first_failure_.c_str());
            finish(1);
            return;
          }
          std::fprintf(stderr, "loadgen: %d connected in %.2f s\n", connected_,
                       static_cast<double>(last_connect_done_ - connect_phase_start_) / 1e9);
          // Rooms: the creator of each room creates it with its members
          // (chatd checks membership; the peers just ack), then all join.
          // A room's members are consecutive clients starting at its creator.
          for (Client& c : clients_) {
            if (!c.creator) continue;
            std::string members;
            for (std::size_t i = static_cast<std::size_t>(c.index); i < clients_.size() && clients_[i].room == c.room; ++i)
              members += (members.empty() ? "\"" : ",\"") + clients_[i].user + "\"";
            ++creates_pending_;
            emit(c, AckKind::create, "room:create",
                 "{\"kind\":\"group\",\"id\":\"" + c.room + "\",\"title\":\"bench\",\"members\":[" + members + "]}");
          }
          phase_ = 1;
          phase_t0_ = now_ns();
        }
        break;
      case 1:  // creating
        if (creates_pending_ == 0) {
          for (Client& c : clients_) {
            ++joins_pending_;
            emit(c, AckKind::join, "room:join", "{\"room\":\"" + c.room + "\"}");
          }
          phase_ = 2;
        }
        break;
      case 2:  // joining
        if (joins_pending_ == 0) {
          if (ack_errors_) {
            std::printf("result error=setup ack_errors=%d first=\"%s\"\n", ack_errors_, first_ack_error_.c_str());
            finish(1);
            return;
          }
          std::fprintf(stderr, "loadgen: rooms ready after %.2f s\n", seconds_since(start_ns_));
          phase_ = 5;
          phase_t0_ = now_ns();
          quiet_frames_ = total_frames_;
          quiet_since_ = now_ns();
        }
        break;
      case 5:  // wait for the joins' presence events to drain: up to 1 s of silence
        if (total_frames_ != quiet_frames_) {
          quiet_frames_ = total_frames_;
          quiet_since_ = now_ns();
        } else if (seconds_since(quiet_since_) >= std::clamp(o_.settle_seconds, 0.3, 1.0) || seconds_since(phase_t0_) > 60) {
          std::fprintf(stderr, "loadgen: quiet after %.2f s; sending\n", seconds_since(start_ns_));
          phase_ = 3;
          step_ = 0;
          phase_t0_ = 0;
        }
        break;
      case 3:  // steps: settle, then measure
        phase_steps();
        break;
      case 4:  // drain
        if (seconds_since(phase_t0_) > 1.5 || (total_delivered_ >= total_sent_ * (o_.scenario == "pairs" ? 2 : static_cast<std::uint64_t>(o_.members)) &&
                                               total_acked_ >= total_sent_)) {
          if (o_.scenario == "smoke") {
            const std::uint64_t want = total_sent_ * static_cast<std::uint64_t>(o_.members);
            std::printf("result smoke sent=%llu acked=%llu delivered=%llu expected=%llu\n",
                        static_cast<unsigned long long>(total_sent_), static_cast<unsigned long long>(total_acked_),
                        static_cast<unsigned long long>(total_delivered_), static_cast<unsigned long long>(want));
            finish(total_sent_ > 0 && total_acked_ == total_sent_ && total_delivered_ == want ? 0 : 1);
            return;
          }
          if (best_rate_ >= 0) std::printf("result best %s\n", best_line_.c_str());
          else std::printf("result best none\n");
          finish(0);
        }
        break;
    }
  } else if (o_.scenario == "idle") {
    phase_idle();
  } else if (o_.scenario == "storm") {
    phase_storm();
  }
}

void LoadGen::phase_steps() {
  if (step_ >= o_.rates.size()) {
    sending_ = false;
    recording_ = false;
    phase_ = 4;
    phase_t0_ = now_ns();
    return;
  }
  const double rate = o_.rates[step_];
  if (phase_t0_ == 0) {  // step begins: settle
    sending_ = true;
    rate_ = rate;
    rate_start_ = now_ns();
    rate_sent_ = 0;
    recording_ = false;
    phase_t0_ = now_ns();
    return;
  }
  const double t = seconds_since(phase_t0_);
  if (!recording_ && t >= o_.settle_seconds) {
    win_.clear();
    recording_ = true;
    srv0_ = sample_group(o_.server_pids, o_.extra_pids);
    self0_ = self_cpu_s();
  } else if (recording_ && t >= o_.settle_seconds + o_.step_seconds) {
    recording_ = false;
    report_step(rate);
    ++step_;
    phase_t0_ = 0;
  }
}

void LoadGen::phase_idle() {
  switch (phase_) {
    case 0:
      if (connected_ + failed_ >= to_connect_) {
        phase_ = 1;
        phase_t0_ = now_ns();
      }
      break;
    case 1:
    case 3:
      if (seconds_since(phase_t0_) >= o_.settle_seconds) {
        const GroupSample s = sample_group(o_.server_pids, o_.extra_pids);
        const double per = connected_ ? (s.rss_bytes - baseline_rss_) / connected_ : 0;
        std::printf("result idle level=%d connected=%d failed=%d rss_mib=%.1f baseline_mib=%.1f bytes_per_conn=%.0f "
                    "server_cpu_s=%.2f loadgen_cpu_s=%.2f connect_s=%.2f first_failure=\"%s\"\n",
                    phase_ == 1 ? 1 : 2, connected_, failed_, s.rss_bytes / 1048576, baseline_rss_ / 1048576, per,
                    s.cpu_s, self_cpu_s(), static_cast<double>(last_connect_done_ - connect_phase_start_) / 1e9,
                    first_failure_.c_str());
        std::fflush(stdout);
        if (phase_ == 1 && o_.conns_max > o_.conns) {
          to_connect_ = o_.conns_max;
          phase_ = 2;
        } else {
          finish(0);
        }
      }
      break;
    case 2:
      if (connected_ + failed_ >= to_connect_ - lost_) {
        phase_ = 3;
        phase_t0_ = now_ns();
      }
      break;
  }
}

void LoadGen::phase_storm() {
  const bool all = connected_ + failed_ >= to_connect_;
  if (phase_ == 0 && (all || failed_ > 0)) {
    // The rate up to the first failure (or over all when none failed).
    const std::int64_t end = failed_ ? first_failure_ns_ : last_connect_done_;
    const double secs = static_cast<double>(end - connect_phase_start_) / 1e9;
    const GroupSample s = sample_group(o_.server_pids, o_.extra_pids);
    std::printf("result storm attempted=%d connected=%d failed=%d seconds=%.3f conns_per_s=%.0f server_cpu_s=%.2f "
                "server_cpu_us_per_conn=%.1f loadgen_cpu_s=%.2f rss_mib=%.1f first_failure=\"%s\"\n",
                next_connect_, connected_, failed_, secs, secs > 0 ? connected_ / secs : 0, s.cpu_s - srv0_.cpu_s,
                connected_ ? (s.cpu_s - srv0_.cpu_s) * 1e6 / connected_ : 0, self_cpu_s() - self0_,
                s.rss_bytes / 1048576, first_failure_.c_str());
    std::fflush(stdout);
    finish(0);
  }
}

// ---- the raw epoll WebSocket client -----------------------------------------

void LoadGen::raw_connect(Client& c) {
  c.state = State::connecting;
  c.connect_started = now_ns();
  ++in_flight_;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    client_lost(c, "socket() failed (fd limit?)");
    return;
  }
  c.fd = fd;
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  sockaddr_in src{};
  src.sin_family = AF_INET;
  ::inet_pton(AF_INET, sources_[static_cast<std::size_t>(c.index) % sources_.size()].c_str(), &src.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
    client_lost(c, "bind to the source address failed");
    return;
  }
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(static_cast<std::uint16_t>(o_.ports[static_cast<std::size_t>(c.node)]));
  ::inet_pton(AF_INET, o_.host.c_str(), &dst.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0 && errno != EINPROGRESS) {
    client_lost(c, "connect() failed");
    return;
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
  ev.data.ptr = &c;
  if (::epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    client_lost(c, "epoll_ctl failed");
    return;
  }
  c.wbuf = upgrade_reqs_[static_cast<std::size_t>(c.node)];  // goes out once the socket is writable
  c.upgraded = false;
}

void LoadGen::raw_flush(Client& c) {
  while (c.fd >= 0 && !c.wbuf.empty()) {
    const ssize_t n = ::send(c.fd, c.wbuf.data(), c.wbuf.size(), MSG_NOSIGNAL);
    if (n > 0) {
      c.wbuf.erase(0, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
      ev.data.ptr = &c;
      ::epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
      return;
    }
    client_lost(c, c.state == State::connecting ? "connection refused" : "send failed");
    return;
  }
}

void LoadGen::raw_readable(Client& c) {
  char buf[1 << 16];
  const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
  if (n > 0) {
    c.rbuf.append(buf, static_cast<std::size_t>(n));
    raw_parse(c);
  } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
    client_lost(c, n == 0 ? "closed by the server" : "recv failed");
  }
}

// Frame headers only: the payload goes to on_message as a view into rbuf.
void LoadGen::raw_parse(Client& c) {
  std::size_t pos = 0;
  if (!c.upgraded) {
    const auto end = c.rbuf.find("\r\n\r\n");
    if (end == std::string::npos) {
      if (c.rbuf.size() > 8192) client_lost(c, "bad HTTP response");
      return;
    }
    if (c.rbuf.compare(0, 12, "HTTP/1.1 101") != 0) {
      client_lost(c, ("upgrade refused: " + c.rbuf.substr(0, c.rbuf.find('\r'))).c_str());
      return;
    }
    c.upgraded = true;
    pos = end + 4;
  }
  const std::size_t size = c.rbuf.size();
  const auto* b = reinterpret_cast<const unsigned char*>(c.rbuf.data());
  while (c.fd >= 0 && size - pos >= 2) {
    const unsigned op = b[pos] & 0x0f;
    const bool masked = (b[pos + 1] & 0x80) != 0;
    std::uint64_t len = b[pos + 1] & 0x7f;
    std::size_t h = 2;
    if (len == 126) {
      if (size - pos < 4) break;
      len = (std::uint64_t{b[pos + 2]} << 8) | b[pos + 3];
      h = 4;
    } else if (len == 127) {
      if (size - pos < 10) break;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | b[pos + 2 + static_cast<std::size_t>(i)];
      h = 10;
    }
    if (masked) h += 4;  // servers don't mask; tolerated, not unmasked
    if (size - pos < h + len) break;
    const std::string_view payload(c.rbuf.data() + pos + h, static_cast<std::size_t>(len));
    pos += h + static_cast<std::size_t>(len);
    const bool fin = (b[pos - h - len] & 0x80) != 0;
    if (op == 0x8) {
      client_lost(c, "closed by the server");
      return;
    }
    if (op == 0x9) {  // ping: pong with the same payload
      c.wbuf += static_cast<char>(0x8a);
      c.wbuf += static_cast<char>(0x80 | (len & 0x7f));
      c.wbuf.append(4, '\0');
      c.wbuf.append(payload);
      if (!c.dirty) {
        c.dirty = true;
        dirty_.push_back(&c);
      }
      continue;
    }
    if (op == 0xa) continue;
    if (op == 0x0 || !fin) {  // fragmented message: assemble in rx
      if (op != 0x0) c.rx.clear();
      c.rx.append(payload);
      if (fin) {
        std::string whole;
        whole.swap(c.rx);
        on_message(c, whole);
      }
      continue;
    }
    on_message(c, payload);
  }
  if (c.fd >= 0) c.rbuf.erase(0, pos);
}

int LoadGen::run_raw() {
  ep_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (ep_ < 0) {
    std::fprintf(stderr, "loadgen: epoll_create1 failed\n");
    return 1;
  }
  for (int port : o_.ports)
    upgrade_reqs_.push_back("GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: " + o_.host + ":" +
                            std::to_string(port) +
                            "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
                            "dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  std::vector<epoll_event> events(4096);
  std::int64_t next_tick = now_ns();
  // Bounded: tick() ends the run at --timeout whatever happens.
  while (!done_) {
    const std::int64_t period = sending_ ? 1'000'000 : 5'000'000;
    const std::int64_t wait_ns = next_tick - now_ns();
    const int n = ::epoll_wait(ep_, events.data(), static_cast<int>(events.size()),
                               wait_ns > 0 ? static_cast<int>((wait_ns + 999'999) / 1'000'000) : 0);
    for (int i = 0; i < n; ++i) {
      auto* c = static_cast<Client*>(events[static_cast<std::size_t>(i)].data.ptr);
      if (c->fd < 0) continue;
      const std::uint32_t ev = events[static_cast<std::size_t>(i)].events;
      if (ev & EPOLLOUT) {
        if (c->state == State::connecting && !c->upgraded && c->wbuf == upgrade_reqs_[static_cast<std::size_t>(c->node)]) {
          int err = 0;
          socklen_t len = sizeof err;
          ::getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
          if (err != 0) {
            client_lost(*c, (std::string("connect: ") + std::strerror(err)).c_str());
            continue;
          }
        }
        raw_flush(*c);
        if (c->fd >= 0 && c->wbuf.empty()) {
          epoll_event mod{};
          mod.events = EPOLLIN | EPOLLRDHUP;
          mod.data.ptr = c;
          ::epoll_ctl(ep_, EPOLL_CTL_MOD, c->fd, &mod);
        }
      }
      if (c->fd >= 0 && (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) raw_readable(*c);
    }
    if (now_ns() >= next_tick) {
      tick();
      next_tick = now_ns() + period;
    }
    // One write per socket per pass, whatever was queued meanwhile.
    std::vector<Client*> flush;
    flush.swap(dirty_);
    for (Client* c : flush) {
      c->dirty = false;
      if (c->fd >= 0 && c->state != State::connecting) raw_flush(*c);
      else if (c->fd >= 0 && c->upgraded) raw_flush(*c);
    }
    dirty_.reserve(flush.capacity());
  }
  for (Client& c : clients_)
    if (c.fd >= 0) ::close(c.fd);
  ::close(ep_);
  return exit_code_;
}

int LoadGen::run() {
  raw_ = o_.client != "lws";
  lws_set_log_level(LLL_ERR, nullptr);
  static const lws_protocols protocols[] = {
      {"loadgen", callback, 0, 1 << 14, 0, nullptr, 0},
      {nullptr, nullptr, 0, 0, 0, nullptr, 0},
  };
  lws_context_creation_info info{};
  info.port = CONTEXT_PORT_NO_LISTEN;
  info.protocols = protocols;
  info.gid = -1;
  info.uid = -1;
  info.pt_serv_buf_size = 1 << 16;  // read up to 64 KiB per socket per pass
  info.timeout_secs = 30;
  ctx_ = lws_create_context(&info);
  if (!ctx_) {
    std::fprintf(stderr, "loadgen: cannot create the lws context\n");
    return 1;
  }
  for (int i = 0; i < o_.sources; ++i) sources_.push_back("127.0.0." + std::to_string(o_.source_first + i));
  if (!o_.jwt_secret.empty()) jwt_ = std::make_unique<realtime::JwtAuthenticator>(realtime::JwtOptions{o_.jwt_secret}, wall_);

  int n = 0;
  if (o_.scenario == "fanout" || o_.scenario == "smoke") n = o_.rooms * o_.members;
  else if (o_.scenario == "pairs") n = 2 * o_.pairs;
  else if (o_.scenario == "idle") n = std::max(o_.conns, o_.conns_max);
  else if (o_.scenario == "storm") n = o_.conns;
  else usage("unknown scenario");
  clients_.resize(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    Client& c = clients_[static_cast<std::size_t>(i)];
    c.index = i;
    c.node = i % static_cast<int>(o_.ports.size());
    c.user = o_.prefix + std::to_string(i);
    if (o_.scenario == "fanout" || o_.scenario == "smoke") {
      c.room = o_.prefix + "room" + std::to_string(i / o_.members);
      c.creator = i % o_.members == 0;
    } else if (o_.scenario == "pairs") {
      c.room = o_.prefix + "pair" + std::to_string(i / 2);
      c.creator = i % 2 == 0;
    }
  }
  if (o_.scenario == "pairs") o_.members = 2;
  if (o_.per_room && o_.scenario != "fanout") usage("--per-room-rates is for --scenario fanout");
  if (o_.per_room)
    for (double& r : o_.rates) r *= o_.rooms;
  to_connect_ = o_.scenario == "idle" ? std::min(o_.conns, n) : n;
  start_ns_ = now_ns();
  connect_phase_start_ = start_ns_;
  baseline_rss_ = sample_group(o_.server_pids, o_.extra_pids).rss_bytes;
  srv0_ = sample_group(o_.server_pids, o_.extra_pids);
  self0_ = self_cpu_s();
  g_gen = this;
  if (raw_) {
    lws_context_destroy(ctx_);
    ctx_ = nullptr;
    const int rc = run_raw();
    g_gen = nullptr;
    return rc;
  }
  lws_sul_schedule(ctx_, 0, &sul_, tick_cb, 1000);
  // Bounded: tick() ends the run at --timeout whatever happens.
  while (!done_) {
    if (lws_service(ctx_, 0) < 0) break;
  }
  lws_sul_cancel(&sul_);
  lws_context_destroy(ctx_);
  g_gen = nullptr;
  return exit_code_;
}

}  // namespace

int main(int argc, char** argv) {
  LoadGen gen(parse(argc, argv));
  return gen.run();
}
