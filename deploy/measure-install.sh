#!/bin/sh
# What a fresh barnlink gateway install costs on THIS machine (docs/install-pi.md, "Measuring an
# install"). Run it on the Pi, as root, with the release tarball you are about to install:
#
#   sudo sh measure-install.sh barnlink-X.Y.Z-arm64.tgz [--npm]
#
# --npm also times `npm ci --omit=dev` in a scratch copy (downloads from the npm registry and
# compiles native addons that have no prebuilt binary: the path the prebuilt tarball avoids).
# It touches nothing of an installed barnlink: everything happens under a temporary folder, and
# the agent it starts uses a throw-away config with no sources, the HTTP page on a free port, and
# a broker address that is not there (it measures start-up and idle cost, not the link).
# Paste the printed table into the issue or the installation record.
set -eu

TARBALL=${1:?usage: measure-install.sh barnlink-X.Y.Z-arm64.tgz [--npm]}
NPM=${2:-}
WORK=$(mktemp -d /tmp/barnlink-measure-XXXXXX)
trap 'kill "$AGENT" 2>/dev/null || true; rm -rf "$WORK"' EXIT INT TERM
AGENT=""

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
kib() { du -sk "$1" | cut -f1; }

echo "| what | figure |"
echo "|---|---|"
echo "| machine | $(tr -d '\0' </proc/device-tree/model 2>/dev/null || uname -m), $(nproc) cores, $(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo) MB RAM |"
echo "| OS, Node | $(. /etc/os-release && echo "$PRETTY_NAME"), node $(node -v) |"
echo "| storage | $(df -h "$WORK" | awk 'NR==2 {print $1", "$4" free"}') |"
echo "| tarball | $(basename "$TARBALL"), $(( $(stat -c %s "$TARBALL") / 1024 )) KiB |"

# 1. Unpack (what `barnlink upgrade --tarball … --no-install` does, minus the link switch).
t0=$(now)
mkdir -p "$WORK/release" && tar -xzf "$TARBALL" -C "$WORK/release" --strip-components=1
sync
t1=$(now)
echo "| unpack + sync | $(secs "$t0" "$t1") s |"
echo "| release on disk | $(kib "$WORK/release") KiB ($( [ -d "$WORK/release/node_modules" ] && kib "$WORK/release/node_modules" || echo 0) KiB node_modules) |"

# 2. The native addons load (built for this CPU and this Node's ABI?).
if (cd "$WORK/release" && node -e "require('better-sqlite3')(':memory:').prepare('select 1').get()") 2>/dev/null; then
  echo "| better-sqlite3 loads | yes |"
else
  echo "| better-sqlite3 loads | NO: rebuild for this Node (npm rebuild better-sqlite3) or use the matching release |"
fi

# 3. Optional: the npm path (download + compile), in a scratch copy of package.json and the lock.
if [ "$NPM" = "--npm" ]; then
  mkdir -p "$WORK/npm" && cp "$WORK/release/package.json" "$WORK/release/package-lock.json" "$WORK/npm/" 2>/dev/null || true
  t0=$(now)
  if (cd "$WORK/npm" && npm ci --omit=dev --no-audit --no-fund >"$WORK/npm.log" 2>&1); then
    t1=$(now)
    echo "| npm ci --omit=dev | $(secs "$t0" "$t1") s, $(kib "$WORK/npm/node_modules") KiB |"
  else
    echo "| npm ci --omit=dev | failed: $(tail -1 "$WORK/npm.log") |"
  fi
fi

# 4. Start to healthy, and idle cost after 60 s.
cat >"$WORK/agent.yaml" <<EOF
device: measure-$(hostname)
dataDir: $WORK/data
cloud:
  mqtt: { url: "mqtt://127.0.0.1:9" }
  publicKey: "q0XhV3nq6ZQkD6N8f1n4W8m2VtY5a9bC3dE7fG1hJ2k="
clock: { synced: always }
http: { port: 18081 }
EOF
t0=$(now)
node --max-semi-space-size=4 "$WORK/release/dist/barnlink-agent.mjs" agent --config "$WORK/agent.yaml" \
  >"$WORK/agent.log" 2>&1 &
AGENT=$!
tries=0
until curl -fs http://127.0.0.1:18081/healthz >/dev/null 2>&1; do
  kill -0 "$AGENT" 2>/dev/null || { echo "| agent start | FAILED: $(tail -1 "$WORK/agent.log") |"; exit 1; }
  tries=$((tries + 1))
  [ "$tries" -lt 600 ] || { echo "| agent start | no /healthz within 120 s: $(tail -1 "$WORK/agent.log") |"; exit 1; }
  sleep 0.2
done
t1=$(now)
echo "| agent start → /healthz | $(secs "$t0" "$t1") s |"
ticks0=$(awk '{print $14+$15}' "/proc/$AGENT/stat")
sleep 60
ticks1=$(awk '{print $14+$15}' "/proc/$AGENT/stat")
hz=$(getconf CLK_TCK)
echo "| agent RSS after 60 s idle | $(awk '/VmRSS/ {print int($2/1024)}' "/proc/$AGENT/status") MB (peak $(awk '/VmHWM/ {print int($2/1024)}' "/proc/$AGENT/status") MB) |"
echo "| agent CPU while idle | $(awk -v t="$((ticks1 - ticks0))" -v hz="$hz" 'BEGIN { printf "%.2f", t * 100 / hz / 60 }') % of one core |"
