#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test, three times:
#   1. build/release: Release (-O3, which warns about more than -O2) with
#      warnings as errors, all tests (unit, integration, interop, crash,
#      package), the library static as by default.
#   2. build/shared: -DBUILD_SHARED_LIBS=ON, so chatd, the examples and the
#      packaging consumers use librealtime.so through its exported API
#      (package.exports checks that it exports nothing else), and every
#      test of them runs again: e2e, browser, interop, examples, package.
#      The unit tests reach past the public API into the same objects pass
#      1 tested, so this build leaves them out (tests/CMakeLists.txt), and
#      the soak, which measures the same code over time, as well.
#   3. build/sanitize: clang with AddressSanitizer + UndefinedBehaviorSanitizer
#      and the libFuzzer targets; all tests again except the packaging one,
#      plus each fuzzer for a bounded time. The tests' own files build at
#      -O0 there (tests/CMakeLists.txt).
# REALTIME_SKIP_SHARED=1 / REALTIME_SKIP_SANITIZE=1 leave out pass 2 / 3
# while developing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

jobs=$(nproc)
start=$(date +%s)

# run_tests <build dir> <timeout s> [labels to leave out, a regex]: the
# unit tests (in-process, no ports, no clocks of their own) side by side on
# every core, then the rest one at a time, as the servers and browsers they
# start are timed against a quiet machine. (ctest keeps only the last -LE
# it is given, so the labels left out go in one regex.)
run_tests() {
  local dir=$1 timeout=$2 skip=${3:-}
  ctest --test-dir "$dir" --output-on-failure --timeout "$timeout" -j "$jobs" -L unit ${skip:+-LE "$skip"}
  ctest --test-dir "$dir" --output-on-failure --timeout "$timeout" -LE "unit${skip:+|$skip}"
}

echo "== release build"
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DREALTIME_WERROR=ON
cmake --build build/release -j "$jobs"
run_tests build/release 600

if [ "${REALTIME_SKIP_SHARED:-0}" != 1 ]; then
  echo "== shared build"
  cmake -S . -B build/shared -G Ninja -DCMAKE_BUILD_TYPE=Release -DREALTIME_WERROR=ON -DBUILD_SHARED_LIBS=ON
  cmake --build build/shared -j "$jobs"
  run_tests build/shared 600 soak
fi

if [ "${REALTIME_SKIP_SANITIZE:-0}" != 1 ]; then
  echo "== sanitizer build (clang, ASan + UBSan, fuzzers)"
  # -O1 with line tables only: ASan's reports still give file:line for
  # every frame, and the library compiles in about five sixths of the time
  # RelWithDebInfo's -O2 -g takes.
  CC=clang CXX=clang++ cmake -S . -B build/sanitize -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" \
    -DREALTIME_WERROR=ON -DREALTIME_SANITIZE=ON -DREALTIME_FUZZ=ON
  cmake --build build/sanitize -j "$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_tests build/sanitize 900 package
fi

echo "== all tests passed in $(( $(date +%s) - start )) s"
