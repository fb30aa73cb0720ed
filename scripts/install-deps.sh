#!/usr/bin/env bash
# Installs what librealtime and chatd need on Debian 12, and only what is
# missing, so running it twice costs nothing. Needs root (or sudo) for apt.
# Node packages for the interop and browser tests come from the project's
# own package-lock.json files (npm ci).
#
#   scripts/install-deps.sh          install what is missing
#   scripts/install-deps.sh --list   print the Debian packages it installs
#                                    (tests/package/deps checks against it)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config git
  libwebsockets-dev   # HTTP + WebSocket transport
  libwebsockets-evlib-ev libev-dev  # its libev (epoll) loop plugin, and libev for our watchers
  rapidjson-dev       # JSON codec (header-only)
  libsqlite3-dev sqlite3  # message store
  libpq-dev           # PostgreSQL store (libpq 15)
  libhiredis-dev      # the Redis bus between chatd nodes
  libmsgpack-dev      # decodes what @socket.io/redis-emitter publishes (msgpack-c)
  redis-server        # the throwaway Redis its tests start
  nginx-light         # the round-robin balancer before three nodes in tests/e2e/balancer.test.mjs
  postgresql-15       # the throwaway servers its tests and bench/store start (and the postgres user they run as)
  libfmt-dev libcxxopts-dev
  libssl-dev          # JWT HMAC and RS/ES/PS/EdDSA signatures, random join tokens, TLS (chatd --tls-cert)
  openssl             # the CLI that tests/e2e/tls.test.mjs makes its certificates with
  libcurl4-openssl-dev  # chatd fetches JWKS documents (--jwks-url)
  googletest libgtest-dev libgmock-dev
  clang libclang-rt-14-dev  # sanitizer build and libFuzzer
)
# Node.js: the machine's nodejs package if it has one (a newer build of it
# is fine), Debian's otherwise; Debian ships npm apart from nodejs.
packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)
if [ -f scripts/extra-packages.txt ]; then
  while read -r p _; do [ -n "$p" ] && [ "${p#\#}" = "$p" ] && packages+=("$p"); done < scripts/extra-packages.txt
fi

if [ "${1:-}" = --list ]; then
  printf '%s\n' "${packages[@]}"
  exit 0
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "install-deps: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm ci wherever the project keeps a lock file, unless node_modules is
# already newer than the lock.
while IFS= read -r lock; do
  dir=$(dirname "$lock")
  if [ ! -d "$dir/node_modules" ] || [ "$lock" -nt "$dir/node_modules" ]; then
    echo "install-deps: npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error && touch node_modules)
  fi
done < <(git ls-files '*package-lock.json' 2>/dev/null || find . -name package-lock.json -not -path '*/node_modules/*')
