// render_metrics(): the call quality histograms and the audit entries not
// kept of every loop are summed (chatd --threads), with cumulative buckets
// in Prometheus' text format.
#include "metrics.h"

#include <gtest/gtest.h>

namespace chatd {
namespace {

realtime::CallSample sample(double rtt, double fps) {
  realtime::CallSample s;
  s.rtt_ms = rtt;
  s.fps = fps;
  return s;
}

TEST(MetricsTest, CallQualityHistogramsAreSummedOverTheLoops) {
  std::vector<LoopFigures> loops(2);
  loops[0].chat.call.observe(sample(40, 30));
  loops[0].chat.call.observe(sample(120, 24));
  loops[1].chat.call.observe(sample(3000, 5));
  loops[1].chat.call.not_kept = 1;
  const std::string text = render_metrics(loops, 0, nullptr);
  for (const char* line : {"# TYPE chatd_call_rtt_ms histogram\n", "chatd_call_rtt_ms_bucket{le=\"25\"} 0\n",
                           "chatd_call_rtt_ms_bucket{le=\"50\"} 1\n", "chatd_call_rtt_ms_bucket{le=\"150\"} 2\n",
                           "chatd_call_rtt_ms_bucket{le=\"2000\"} 2\n", "chatd_call_rtt_ms_bucket{le=\"+Inf\"} 3\n",
                           "chatd_call_rtt_ms_count 3\n", "chatd_call_fps_bucket{le=\"5\"} 1\n",
                           "chatd_call_fps_bucket{le=\"25\"} 2\n", "chatd_call_fps_count 3\n",
                           "chatd_call_loss_pct_count 0\n", "chatd_call_stats_reports_total 3\n",
                           "chatd_call_stats_not_kept_total 1\n"})
    EXPECT_NE(text.find(line), std::string::npos) << line;
  EXPECT_NE(text.find("chatd_call_rtt_ms_sum 3160"), std::string::npos);
}

TEST(MetricsTest, AuditEntriesNotKeptAreSummedOverTheLoops) {
  std::vector<LoopFigures> loops(3);
  loops[0].chat.audit_not_kept = 2;
  loops[2].chat.audit_not_kept = 1;
  const std::string text = render_metrics(loops, 0, nullptr);
  EXPECT_NE(text.find("# TYPE chatd_audit_not_kept_total counter\nchatd_audit_not_kept_total 3\n"), std::string::npos)
      << text;
}

}  // namespace
}  // namespace chatd
