#!/usr/bin/env bash
# Installs what is missing, builds chatd, and starts it on port 8080 with
# its data (SQLite file, attachments) under ./data. Dev mode is on so a
# newcomer can get tokens from POST /api/dev/token; never use it in
# production. The web client (web/, built into build/release/web-dist) is
# served at http://localhost:8080/. Extra arguments go to chatd (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j "$(nproc)" --target chatd chatd_web
mkdir -p data
exec build/release/apps/chatd/chatd --port 8080 --data-dir ./data --dev --static-dir build/release/web-dist "$@"
