#!/usr/bin/env bash
# bench/boost.sh CMD [ARGS...]: runs CMD (exec, same pid) with its
# scheduler autogroup at nice -10. Used by bench/realistic.sh under setsid,
# so that the autogroup is the benchmarked process's own: with autogroups
# on (Linux's default for desktops and many VMs), plain `nice` only ranks
# processes inside one session, and a server sharing its core with other
# sessions' builds would get a fraction of it and measure their load, not
# its own. Needs root for a negative nice; otherwise CMD runs as it is.
echo -10 >/proc/self/autogroup 2>/dev/null || true
exec "$@"
