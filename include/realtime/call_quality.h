// Call quality as the clients measure it: what one rtc:stats report says
// (a summary of RTCPeerConnection.getStats() over the last few seconds),
// and the histograms of those reports that chatd exports on /metrics.
// Plain values; the chat service fills them on its loop thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>

namespace realtime {

// One report. Every figure is optional (a connection may not know its round
// trip yet, or receive no video); the bounds are the protocol's
// (docs/protocol.md, rtc:stats).
struct CallSample {
  std::optional<double> rtt_ms;    // 0..60000, the selected candidate pair's round trip
  std::optional<double> loss_pct;  // 0..100, packets lost of those expected inbound
  std::optional<double> kbps_in;   // 0..1000000, received bit rate
  std::optional<double> kbps_out;  // 0..1000000, sent bit rate
  std::optional<double> fps;       // 0..240, frames per second of the video received
};

// A Prometheus histogram: counts per upper bound (not cumulative), the last
// one +Inf, and the sum of what was observed.
template <std::size_t N>
struct CallHistogram {
  double bounds[N];
  std::uint64_t counts[N + 1] = {};
  double sum = 0;

  void observe(double v) {
    std::size_t b = 0;
    while (b < N && v > bounds[b]) ++b;
    ++counts[b];
    sum += v;
  }
  void add(const CallHistogram& other) {
    for (std::size_t i = 0; i <= N; ++i) counts[i] += other.counts[i];
    sum += other.sum;
  }
};

// What one chat service's sockets reported (each report counted where it
// arrived, so the nodes' and loops' figures add up). Monotonic since start.
struct CallQualityStats {
  std::uint64_t reports = 0;
  // Reports accepted but left out of a room's summary: the room already had
  // ChatOptions::quality_participants people reporting.
  std::uint64_t not_kept = 0;
  CallHistogram<9> rtt_ms{{25, 50, 100, 150, 200, 300, 500, 1000, 2000}};
  CallHistogram<8> loss_pct{{0.1, 0.5, 1, 2, 5, 10, 20, 50}};
  CallHistogram<8> fps{{1, 5, 10, 15, 20, 25, 30, 60}};
  CallHistogram<8> kbps_in{{50, 100, 250, 500, 1000, 2000, 5000, 10000}};

  void observe(const CallSample& s) {
    ++reports;
    if (s.rtt_ms) rtt_ms.observe(*s.rtt_ms);
    if (s.loss_pct) loss_pct.observe(*s.loss_pct);
    if (s.fps) fps.observe(*s.fps);
    if (s.kbps_in) kbps_in.observe(*s.kbps_in);
  }
  void add(const CallQualityStats& o) {
    reports += o.reports;
    not_kept += o.not_kept;
    rtt_ms.add(o.rtt_ms);
    loss_pct.add(o.loss_pct);
    fps.add(o.fps);
    kbps_in.add(o.kbps_in);
  }
};

}  // namespace realtime
