#!/usr/bin/env bash
# What `npm test` runs, locally and in CI: system services, dependencies, build, typecheck, tests.
#   npm test                                   all of test/**/*.test.ts
#   npm test -- test/foo.test.ts               only these files
#   npm test -- --test-name-pattern=resume     extra flags go to `node --test`
# Works on a fresh Debian 12 machine without a terminal (CI=true, no stdin).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '\n==> %s\n' "$*" >&2; }

# (a) Real servers the tests start themselves, each on a free port (never 1883).
declare -A bins=(
  [mosquitto]=/usr/sbin/mosquitto
  [chromium]=/usr/bin/chromium
  [victoria-metrics]=/usr/bin/victoria-metrics
)
missing=()
for pkg in mosquitto chromium victoria-metrics; do
  [[ -x ${bins[$pkg]} ]] || missing+=("$pkg")
done
if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "installing Debian packages: ${missing[*]}"
    # Installing mosquitto may start a system broker on 1883; harmless, the tests never use that port.
    apt-get update </dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" </dev/null
    for pkg in "${missing[@]}"; do
      if [[ ! -x ${bins[$pkg]} ]]; then
        echo "error: installed Debian package '$pkg' but ${bins[$pkg]} is still missing" >&2
        exit 1
      fi
    done
  else
    {
      echo "error: the tests need these Debian packages, which are not installed: ${missing[*]}"
      for pkg in "${missing[@]}"; do echo "  $pkg (expected ${bins[$pkg]})"; done
      echo "install them as root with:"
      echo "  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
    } >&2
    exit 1
  fi
fi

# (b) Dependencies, when absent or older than the lockfile. npm writes node_modules/.package-lock.json
# on every install, so its age is the age of the install. npm 11 runs install scripts only for the
# packages approved in package.json "allowScripts" (better-sqlite3, esbuild: native binaries).
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  log 'npm ci'
  npm ci --no-audit --no-fund </dev/null
fi

# (c) Build (gateway + dashboard) and typecheck everything, tests included.
log 'npm run build'
npm run build </dev/null
log 'npm run typecheck'
npm run typecheck </dev/null

# (d) The tests. Node 20's --test takes no globs, so list the files. One file at a time: the machine
# has 2 cores and every file starts real servers (broker, gateway, VictoriaMetrics, Chromium).
# --test-force-exit: a file whose tests are done exits even if a failed test leaked a socket or a
# reconnecting MQTT client (its 'exit' hook then kills the servers it started).
files=()
flags=()
for arg in "$@"; do
  if [[ $arg == -* ]]; then flags+=("$arg"); else files+=("$arg"); fi
done
if ((${#files[@]} == 0)); then
  mapfile -t files < <(find test -name '*.test.ts' -not -path '*/node_modules/*' | sort)
fi
if ((${#files[@]} == 0)); then
  echo 'error: no test files (test/**/*.test.ts)' >&2
  exit 1
fi
log "node --test (${#files[@]} files)"
exec node --import tsx --test --test-concurrency=1 --test-timeout=300000 --test-force-exit --test-reporter=spec \
  ${flags[@]+"${flags[@]}"} "${files[@]}" </dev/null
