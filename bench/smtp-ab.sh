#!/usr/bin/env bash
# A/B of Tern binaries on SMTP: bench/smtp-ab.sh ROUNDS BINARY... runs smtp-source (20 sessions,
# AB_MESSAGES x 4 KiB, fsync on) against each binary in turn, ROUNDS times, alternating, each on a
# fresh data dir; with AB_SINK=1 also against Postfix's smtp-sink once a round. Prints msg/s and the
# server's CPU per message. One run moves by 10-20 % from the next on a shared machine: compare
# binaries only within one command, over several rounds. AB_EXTRA adds lines to [server].
# Loopback only; every server it starts is stopped.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # free_port, wait_port
[ $# -ge 2 ] || { echo "usage: $0 ROUNDS BINARY..." >&2; exit 2; }
rounds=$1
shift
messages=${AB_MESSAGES:-20000}
export PATH=$PATH:/usr/sbin
command -v smtp-source >/dev/null || { echo "smtp-source missing: apt-get install postfix" >&2; exit 1; }
work=$(mktemp -d /tmp/tern-smtp-ab.XXXXXX)
pid=""
ab_cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap ab_cleanup EXIT
port=$(free_port)

# source_run NAME [CPU_PID]: one smtp-source run; prints msg/s (and CPU us/msg of CPU_PID when given).
source_run() {
  local name=$1 cpid=${2:-} c0=0 c1=0 t0 t1
  [ -n "$cpid" ] && c0=$(awk '{print $14 + $15}' "/proc/$cpid/stat")
  t0=$(date +%s.%N)
  timeout 600 smtp-source -s 20 -m "$messages" -l 4096 -f sender@remote.example -t bench1@example.test \
    "127.0.0.1:$port" >/dev/null
  t1=$(date +%s.%N)
  [ -n "$cpid" ] && c1=$(awk '{print $14 + $15}' "/proc/$cpid/stat")
  awk -v n="$messages" -v a="$t0" -v b="$t1" -v c=$(( c1 - c0 )) -v hz="$(getconf CLK_TCK)" -v name="$name" \
    -v cpu="$cpid" 'BEGIN { printf "%-24s %7.0f msg/s", name, n / (b - a);
                            if (cpu != "") printf "  server CPU %5.1f us/msg", c * 1e6 / hz / n; printf "\n" }'
}

for (( r = 1; r <= rounds; r++ )); do
  for bin in "$@"; do
    d=$work/tern
    rm -rf "$d"
    mkdir -p "$d"
    cat > "$d/tern.toml" <<EOF
[server]
hostname = "localhost"
data_dir = "$d/data"
log_level = "warn"
${AB_EXTRA:-}
[queue]
enabled = false
[listen]
smtp = ["127.0.0.1:$port"]
[auth]
trusted_networks = ["127.0.0.1/32"]
[limits]
max_connections = 30000
max_connections_per_ip = 30000
smtp_max_messages_per_connection = 1000000
EOF
    "$bin" domain add example.test --config "$d/tern.toml" >/dev/null
    echo "bench-Secret-1" | "$bin" user add bench1@example.test --password-stdin --config "$d/tern.toml" >/dev/null
    "$bin" serve --config "$d/tern.toml" >"$d/server.log" 2>&1 &
    pid=$!
    wait_port "$port" 10 || { echo "nothing listens on $port" >&2; exit 1; }
    sleep 2
    source_run "$(basename "$bin")" "$pid"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    pid=""
    sleep 3
  done
  if [ -n "${AB_SINK:-}" ]; then
    smtp-sink -u nobody "127.0.0.1:$port" 1024 >/dev/null 2>&1 &
    pid=$!
    wait_port "$port" 10 || { echo "nothing listens on $port" >&2; exit 1; }
    source_run smtp-sink
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    pid=""
    sleep 3
  fi
done
