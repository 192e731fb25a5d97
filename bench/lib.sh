# Shared functions for bench/run.sh and bench/compare.sh (sourced, not run): building the tools,
# starting/stopping Tern, Dovecot and Postfix from throw-away configs on loopback test ports, and
# running each workload. Every wait is bounded; every server started here is stopped by cleanup().

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
BUILD_DIR=${BENCH_BUILD:-$ROOT/build-bench}
TOOLS=$BUILD_DIR/bench-tools
TERN=${TERN_BIN:-$BUILD_DIR/tern}

# Workload sizes (environment overrides). Defaults keep `make bench-compare` near 10-15 minutes.
DURATION=${DURATION:-20}            # seconds per IMAP load run
CLIENTS=${CLIENTS:-50}              # concurrent IMAP clients (one user each)
TARGET=${TARGET:-100}               # messages kept in each client's INBOX
SMTP_SESSIONS=${SMTP_SESSIONS:-20}
SMTP_MESSAGES=${SMTP_MESSAGES:-10000}  # 2,000 finished in well under a second against Tern and the sink: mostly ramp-up
SMTP_ROUNDS=${SMTP_ROUNDS:-3}  # Tern end to end and smtp-sink alternated this many times; medians compared
SMTP_SIZE=${SMTP_SIZE:-4096}
IDLE_SESSIONS=${IDLE_SESSIONS:-10000}
IDLE_USERS=${IDLE_USERS:-100}
BIG_MESSAGES=${BIG_MESSAGES:-20000}
BIG_BATCH=${BIG_BATCH:-200}          # messages per MULTIAPPEND when generating the big mailbox
BIG_CONNS=${BIG_CONNS:-4}            # parallel generator connections
WORKLOADS=${WORKLOADS:-"churn steady churn-tls steady-tls smtp idle big"}
PASSWORD=bench-Secret-1
DOMAIN=example.test
USERS=$(( CLIENTS > IDLE_USERS ? CLIENTS : IDLE_USERS ))

WORK=""
TERN_PID="" DOVECOT_PID="" POSTFIX_PID="" SINK_PID=""

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }

# A free TCP port on 127.0.0.1 (bound and released; loopback only).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_port PORT SECONDS: until something accepts on 127.0.0.1:PORT.
wait_port() {
  local port=$1 limit=$(( $2 * 10 )) i
  for (( i = 0; i < limit; i++ )); do
    (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# A RESULT line's field: field KEY <<< "$line"
field() { { grep -o "\b$1=[^ ]*" || true; } | head -n1 | cut -d= -f2; }

build_tools() {
  if [ -n "${SKIP_BUILD:-}" ]; then
    [ -x "$TERN" ] && [ -x "$TOOLS/imap-load" ] && [ -x "$TOOLS/idle-load" ] || die "SKIP_BUILD: binaries missing"
    return 0
  fi
  log "building tern (Release) in $BUILD_DIR"
  mkdir -p "$BUILD_DIR"
  local blog=$BUILD_DIR/bench-build.log
  : > "$blog"
  if [ ! -f "$BUILD_DIR/build.ninja" ]; then
    cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >>"$blog" 2>&1 ||
      { tail -30 "$blog" >&2; die "cmake (tern) failed"; }
  fi
  cmake --build "$BUILD_DIR" --target tern -j "${JOBS:-2}" >>"$blog" 2>&1 ||
    { tail -30 "$blog" >&2; die "building tern failed"; }
  log "building bench tools in $TOOLS"
  cmake -S "$BENCH_DIR" -B "$TOOLS" -G Ninja -DCMAKE_BUILD_TYPE=Release >>"$blog" 2>&1 ||
    { tail -30 "$blog" >&2; die "cmake (bench) failed"; }
  cmake --build "$TOOLS" -j "${JOBS:-2}" >>"$blog" 2>&1 || { tail -30 "$blog" >&2; die "building bench tools failed"; }
}

setup_workdir() {
  WORK=$(mktemp -d /tmp/tern-bench.XXXXXX)
  chmod 755 "$WORK"
  # The IDLE test needs ~10,000 descriptors in the server and in the load tool.
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  log "work dir $WORK (fd limit $(ulimit -n))"
}

cleanup() {
  set +e
  [ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null
  tern_stop
  postfix_stop
  dovecot_stop
  [ -n "${INOTIFY_RESTORE:-}" ] && echo "$INOTIFY_RESTORE" > /proc/sys/fs/inotify/max_user_instances
  if [ -n "$WORK" ] && [ -z "${KEEP_WORK:-}" ]; then rm -rf "$WORK"; fi
}

# --- Tern ---------------------------------------------------------------------------------------
tern_start() {
  local d=$WORK/tern
  mkdir -p "$d"
  T_IMAP=$(free_port) T_IMAPS=$(free_port) T_SMTP=$(free_port) T_LMTP=$(free_port)
  cat > "$d/tern.toml" <<EOF
[server]
hostname = "localhost"
data_dir = "$d/data"
log_level = "warn"
${TERN_SERVER_EXTRA:-}

[queue]
enabled = false

[listen]
imap = ["127.0.0.1:$T_IMAP"]
imaps = ["127.0.0.1:$T_IMAPS"]
smtp = ["127.0.0.1:$T_SMTP"]
lmtp = ["127.0.0.1:$T_LMTP"]

[auth]
trusted_networks = ["127.0.0.1/32", "::1/128"]

[limits]
max_connections = 30000
max_connections_per_ip = 30000
smtp_max_messages_per_connection = 1000000
EOF
  "$TERN" domain add "$DOMAIN" --config "$d/tern.toml" >/dev/null || die "tern domain add failed"
  local i
  log "tern: adding $USERS users"
  for (( i = 1; i <= USERS; i++ )); do
    echo "$PASSWORD" | "$TERN" user add "bench$i@$DOMAIN" --password-stdin --config "$d/tern.toml" >/dev/null ||
      die "tern user add failed"
  done
  "$TERN" serve --config "$d/tern.toml" >"$d/server.log" 2>&1 &
  TERN_PID=$!
  for p in $T_IMAP $T_IMAPS $T_SMTP $T_LMTP; do
    wait_port "$p" 20 || { tail -20 "$d/server.log" >&2; die "tern did not start"; }
  done
  log "tern pid $TERN_PID: imap $T_IMAP imaps $T_IMAPS smtp $T_SMTP lmtp $T_LMTP"
}

tern_stop() {
  [ -z "$TERN_PID" ] && return 0
  kill -TERM "$TERN_PID" 2>/dev/null
  local i
  for (( i = 0; i < 100; i++ )); do kill -0 "$TERN_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$TERN_PID" 2>/dev/null
  wait "$TERN_PID" 2>/dev/null
  TERN_PID=""
}

# --- Dovecot (imapd + lmtpd, maildir, passwd-file users, its own self-signed certificate) ----------
dovecot_start() {
  local d=$WORK/dovecot
  # Each IDLE session's imap process needs an inotify instance (without one it polls every 30 s and
  # cannot hibernate); the kernel's default of 128 per user is far below 10,000. Raised for the run,
  # restored by cleanup().
  local want=$(( IDLE_SESSIONS * 2 + 1024 )) cur
  cur=$(cat /proc/sys/fs/inotify/max_user_instances 2>/dev/null || echo 0)
  if [ "$cur" -lt "$want" ]; then
    if echo "$want" > /proc/sys/fs/inotify/max_user_instances 2>/dev/null; then
      INOTIFY_RESTORE=$cur
    else
      log "WARNING: cannot raise fs.inotify.max_user_instances ($cur): Dovecot's IDLE will be handicapped"
    fi
  fi
  mkdir -p "$d/run" "$d/state" "$d/mail"
  chown nobody:nogroup "$d/mail"
  D_IMAP=$(free_port) D_IMAPS=$(free_port) D_LMTP=$(free_port)
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost -keyout "$d/key.pem" \
    -out "$d/cert.pem" 2>/dev/null || die "openssl req failed"
  local hash i
  hash=$(doveadm pw -s SHA512-CRYPT -p "$PASSWORD") || die "doveadm pw failed"
  : > "$d/users"
  for (( i = 1; i <= USERS; i++ )); do
    echo "bench$i@$DOMAIN:$hash:65534:65534::$d/mail/bench$i::" >> "$d/users"
  done
  cat > "$d/dovecot.conf" <<EOF
# Throw-away Dovecot for Tern's benchmarks: loopback only, defaults except where noted.
instance_name = tern-bench-dovecot
base_dir = $d/run
state_dir = $d/state
protocols = imap lmtp
listen = 127.0.0.1
log_path = $d/dovecot.log
ssl = yes
ssl_cert = <$d/cert.pem
ssl_key = <$d/key.pem
# Loopback clients may log in without TLS (Tern allows the same on trusted networks).
disable_plaintext_auth = no
auth_mechanisms = plain login
# Hashed passwords with Dovecot's auth cache, as Tern hashes (Argon2id) and caches verifications.
auth_cache_size = 10M
auth_cache_ttl = 1 hour
passdb {
  driver = passwd-file
  args = $d/users
}
userdb {
  driver = passwd-file
  args = $d/users
}
mail_location = maildir:~/Maildir
namespace inbox {
  inbox = yes
  separator = /
  mailbox Drafts {
    auto = subscribe
    special_use = \Drafts
  }
  mailbox Sent {
    auto = subscribe
    special_use = \Sent
  }
  mailbox Trash {
    auto = subscribe
    special_use = \Trash
  }
  mailbox Junk {
    auto = subscribe
    special_use = \Junk
  }
  mailbox Archive {
    auto = subscribe
    special_use = \Archive
  }
}
# Scale settings for 50 busy clients and 10,000 IDLE sessions (high-performance login mode,
# Dovecot's documented configuration for many connections).
default_client_limit = 15000
default_vsz_limit = 1G
mail_max_userip_connections = 100000
# Idle IMAP sessions move to the imap-hibernate process after 5 s (Dovecot's memory saver for IDLE).
imap_hibernate_timeout = 5s
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $D_IMAP
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $D_IMAPS
    ssl = yes
  }
  service_count = 0
  process_min_avail = 4
  process_limit = 8
  client_limit = 4000
}
service imap {
  process_limit = 20000
  unix_listener imap-master {
    user = \$default_internal_user
  }
}
service imap-hibernate {
  client_limit = 12000
  unix_listener imap-hibernate {
    mode = 0666
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $D_LMTP
  }
}
protocol lmtp {
  postmaster_address = postmaster@$DOMAIN
}
EOF
  dovecot -c "$d/dovecot.conf" || { tail -20 "$d/dovecot.log" >&2; die "dovecot did not start"; }
  for p in $D_IMAP $D_IMAPS $D_LMTP; do
    wait_port "$p" 20 || { tail -20 "$d/dovecot.log" >&2; die "dovecot did not listen"; }
  done
  DOVECOT_PID=$(cat "$d/run/master.pid")
  log "dovecot pid $DOVECOT_PID: imap $D_IMAP imaps $D_IMAPS lmtp $D_LMTP"
}

dovecot_stop() {
  [ -z "$DOVECOT_PID" ] && return 0
  dovecot -c "$WORK/dovecot/dovecot.conf" stop 2>/dev/null
  local i
  for (( i = 0; i < 100; i++ )); do kill -0 "$DOVECOT_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$DOVECOT_PID" 2>/dev/null
  DOVECOT_PID=""
}

# --- Postfix (own config_directory, queue and data dirs in the work dir; delivers over LMTP) --------
postfix_start() {
  local d=$WORK/postfix
  mkdir -p "$d/conf" "$d/queue" "$d/data"
  chown postfix "$d/data"
  P_SMTP=$(free_port)
  cat > "$d/conf/main.cf" <<EOF
# Throw-away Postfix for Tern's benchmarks: loopback only, delivering to Dovecot over LMTP.
compatibility_level = 3.6
queue_directory = $d/queue
data_directory = $d/data
mail_owner = postfix
setgid_group = postdrop
myhostname = bench.localhost
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
relay_domains =
virtual_mailbox_domains = $DOMAIN
virtual_transport = lmtp:inet:127.0.0.1:$D_LMTP
smtpd_reject_unlisted_recipient = no
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
maillog_file = $d/maillog
maillog_file_prefixes = $d
biff = no
EOF
  cat > "$d/conf/master.cf" <<EOF
127.0.0.1:$P_SMTP inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
  postfix -c "$d/conf" start >"$d/start.log" 2>&1 || { cat "$d/start.log" >&2; die "postfix did not start"; }
  wait_port "$P_SMTP" 20 || { cat "$d/start.log" "$d/maillog" >&2; die "postfix did not listen"; }
  POSTFIX_PID=$(head -n1 "$d/queue/pid/master.pid" | tr -d ' ')
  log "postfix pid $POSTFIX_PID: smtp $P_SMTP -> dovecot lmtp $D_LMTP"
}

postfix_stop() {
  [ -z "$POSTFIX_PID" ] && return 0
  postfix -c "$WORK/postfix/conf" stop >/dev/null 2>&1
  local i
  for (( i = 0; i < 100; i++ )); do kill -0 "$POSTFIX_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$POSTFIX_PID" 2>/dev/null
  POSTFIX_PID=""
}

# --- workloads ----------------------------------------------------------------------------------
# Each prints the tool's output (to stderr, for the log) and sets RES to the RESULT line.
# imap_load NAME PORT PID PROFILE SECURITY
imap_load() {
  local name=$1 port=$2 pid=$3 profile=$4 security=$5 out
  log "$name: imap-load $profile $security, $CLIENTS clients, ${DURATION}s"
  # PERF_RECORD=PREFIX: profile the server's threads during the run (setup included) into
  # PREFIX.<server>.<profile>.<security>, for `perf report -i`.
  local perf_pid=""
  if [ -n "${PERF_RECORD:-}" ]; then
    perf record -q -F 999 -g -p "$pid" -o "$PERF_RECORD.${name%%/*}.$profile.$security" >/dev/null 2>&1 &
    perf_pid=$!
  fi
  out=$("$TOOLS/imap-load" --port "$port" --profile "$profile" --security "$security" --clients "$CLIENTS" \
        --duration "$DURATION" --target "$TARGET" --pid "$pid" --password "$PASSWORD" 2>&1) || true
  if [ -n "$perf_pid" ]; then kill -INT "$perf_pid" 2>/dev/null; wait "$perf_pid" 2>/dev/null; fi
  echo "$out" | sed 's/^/    /' >&2
  RES=$(echo "$out" | grep '^RESULT' | tail -n1) || true
}

# smtp_e2e NAME SMTP_PORT IMAP_PORT PIDS: smtp-source, then wait until every message is in the INBOX.
smtp_e2e() {
  local name=$1 sport=$2 iport=$3 pids=$4 base out t0 t1 sent seen secs user=bench$CLIENTS@$DOMAIN
  local count=("$TOOLS/imap-load" --port "$iport" --profile count --user-index "$CLIENTS" --password "$PASSWORD")
  base=$("${count[@]}") || die "$name: cannot read the INBOX count"
  log "$name: smtp-source -s $SMTP_SESSIONS -m $SMTP_MESSAGES -l $SMTP_SIZE to $user (INBOX had $base)"
  local cpu0 cpu1
  cpu0=$(cpu_of "$pids")
  t0=$(date +%s.%N)
  timeout 600 smtp-source -s "$SMTP_SESSIONS" -m "$SMTP_MESSAGES" -l "$SMTP_SIZE" -f "sender@remote.example" \
    -t "$user" -S "bench smtp" "127.0.0.1:$sport" >/dev/null 2>"$WORK/smtp-source.err" ||
    log "$name: smtp-source failed: $(head -3 "$WORK/smtp-source.err")"
  t1=$(date +%s.%N)
  out=$("${count[@]}" --expect $(( base + SMTP_MESSAGES )) --wait 300) || true
  local t2; t2=$(date +%s.%N)
  cpu1=$(cpu_of "$pids")
  local got=${out%% *}
  [[ $got =~ ^[0-9]+$ ]] || got=$base
  seen=$(( got - base ))
  sent=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')
  secs=$(awk -v a="$t0" -v b="$t2" 'BEGIN{printf "%.2f", b-a}')
  RES="RESULT profile=smtp messages=$SMTP_MESSAGES arrived=$seen accept_s=$sent e2e_s=$secs"
  RES+=" accept_per_s=$(awk -v n="$SMTP_MESSAGES" -v s="$sent" 'BEGIN{printf "%.1f", n/s}')"
  RES+=" e2e_per_s=$(awk -v n="$seen" -v s="$secs" 'BEGIN{printf "%.1f", n/s}')"
  RES+=" cpu_s=$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN{printf "%.2f", b-a}')"
  log "$name: $RES"
}

# smtp_sink: smtp-source against Postfix's smtp-sink (accepts and discards: the protocol ceiling).
smtp_sink() {
  local port t0 t1
  sleep "${SETTLE:-5}"  # as run_workload
  port=$(free_port)
  smtp-sink -u nobody "127.0.0.1:$port" 1024 >/dev/null 2>&1 &
  SINK_PID=$!
  wait_port "$port" 10 || die "smtp-sink did not start"
  t0=$(date +%s.%N)
  timeout 600 smtp-source -s "$SMTP_SESSIONS" -m "$SMTP_MESSAGES" -l "$SMTP_SIZE" -f "sender@remote.example" \
    -t "bench1@$DOMAIN" "127.0.0.1:$port" >/dev/null 2>&1 || log "smtp-sink run: smtp-source failed"
  t1=$(date +%s.%N)
  kill "$SINK_PID" 2>/dev/null || true; wait "$SINK_PID" 2>/dev/null || true; SINK_PID=""
  RES="RESULT profile=smtp-sink messages=$SMTP_MESSAGES"
  RES+=" per_s=$(awk -v n="$SMTP_MESSAGES" -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", n/(b-a)}')"
  log "smtp-sink: $RES"
}

# median_run FIELD RES...: the RES line whose FIELD is the median (the lower middle of an even count).
median_run() {
  local field=$1; shift
  printf '%s\n' "$@" | awk -v f="$field" '{ for (i = 1; i <= NF; i++) if (index($i, f "=") == 1) print substr($i, length(f) + 2) "\t" $0 }' |
    sort -g | awk '{ line[NR] = $0 } END { if (NR) { l = line[int((NR + 1) / 2)]; sub(/^[^\t]*\t/, "", l); print l } }'
}

# smtp_rounds: Tern end to end and smtp-sink, alternated SMTP_ROUNDS times: one run of either moves by
# 10-20 % from the next on a shared machine, and the two share it with whatever else runs. Keeps each
# side's median run, and every round's pair in R[rounds:smtp].
smtp_rounds() {
  local i tern=() sink=() pairs=""
  for (( i = 1; i <= SMTP_ROUNDS; i++ )); do
    run_workload tern smtp
    tern+=("$RES")
    smtp_sink
    sink+=("$RES")
    pairs+="$(field e2e_per_s <<< "${tern[-1]}")/$(field per_s <<< "${sink[-1]}"),"
  done
  R[tern:smtp]=$(median_run e2e_per_s "${tern[@]}")
  R[sink:smtp-sink]=$(median_run per_s "${sink[@]}")
  R[rounds:smtp]="RESULT rounds=$SMTP_ROUNDS tern_e2e_per_s/sink_per_s=${pairs%,}"
}

# CPU seconds of the process trees rooted at the comma-separated pids (live + reaped children).
cpu_of() {
  python3 - "$1" <<'EOF'
import os, sys
roots = {int(p) for p in sys.argv[1].split(",") if p}
tick = os.sysconf("SC_CLK_TCK")
procs = {}
for p in os.listdir("/proc"):
    if p.isdigit():
        try:
            s = open("/proc/%s/stat" % p).read()
        except OSError:
            continue
        f = s[s.rindex(")") + 2:].split()
        procs[int(p)] = (int(f[1]), int(f[11]) + int(f[12]), int(f[13]) + int(f[14]))
total = 0
for pid, (ppid, own, children) in procs.items():
    cur, depth = pid, 0
    while cur > 1 and cur not in roots and depth < 64:
        cur = procs.get(cur, (1,))[0]; depth += 1
    if cur in roots:
        total += own + (children if pid in roots else 0)
print("%.2f" % (total / tick))
EOF
}

# idle_load NAME IMAPS_PORT PLAIN_PORT PID
idle_load() {
  local name=$1 port=$2 dport=$3 pid=$4 out
  log "$name: idle-load $IDLE_SESSIONS TLS sessions over $IDLE_USERS users"
  out=$("$TOOLS/idle-load" --port "$port" --security tls --deliver-port "$dport" --deliver-security plain \
        --sessions "$IDLE_SESSIONS" --users "$IDLE_USERS" --pid "$pid" --password "$PASSWORD" --settle 8 \
        --deliver-timeout 30 2>&1) || true
  echo "$out" | sed 's/^/    /' >&2
  RES=$(echo "$out" | grep '^RESULT' | tail -n1) || true
}

# big_mailbox NAME PORT PID
big_mailbox() {
  local name=$1 port=$2 pid=$3 out
  log "$name: bigmailbox $BIG_MESSAGES messages"
  out=$("$TOOLS/imap-load" --port "$port" --profile bigmailbox --messages "$BIG_MESSAGES" --user-index 1 \
        --batch "$BIG_BATCH" --gen-conns "$BIG_CONNS" \
        --pid "$pid" --password "$PASSWORD" --timeout 120 2>&1) || true
  echo "$out" | sed 's/^/    /' >&2
  RES=$(echo "$out" | grep '^RESULT profile=bigmailbox' | tail -n1) || true
  GEN=$(echo "$out" | grep '^RESULT profile=generate' | tail -n1) || true
}

# --- suites -------------------------------------------------------------------------------------
declare -A R   # R[server:workload] = RESULT line

# run_workload SERVER WORKLOAD, SERVER being tern or ref (Dovecot + Postfix).
run_workload() {
  local s=$1 wl=$2 imap imaps smtp ipid spid
  if [ "$s" = tern ]; then
    imap=$T_IMAP imaps=$T_IMAPS smtp=$T_SMTP ipid=$TERN_PID spid=$TERN_PID
  else
    imap=$D_IMAP imaps=$D_IMAPS smtp=$P_SMTP ipid=$DOVECOT_PID spid="$POSTFIX_PID,$DOVECOT_PID"
  fi
  local name; name=$( [ "$s" = tern ] && echo tern || echo dovecot/postfix )
  # Let the previous run's tear-down finish (50 sessions closing, a reference server's processes
  # exiting and writing their indexes) so that it is not charged to this one.
  sleep "${SETTLE:-5}"
  RES=""
  case $wl in
    churn)      imap_load "$name" "$imap" "$ipid" churn plain ;;
    steady)     imap_load "$name" "$imap" "$ipid" steady plain ;;
    churn-tls)  imap_load "$name" "$imaps" "$ipid" churn tls ;;
    steady-tls) imap_load "$name" "$imaps" "$ipid" steady tls ;;
    smtp)       smtp_e2e "$name" "$smtp" "$imap" "$spid" ;;
    idle)       idle_load "$name" "$imaps" "$imap" "$ipid" ;;
    big)        big_mailbox "$name" "$imap" "$ipid"; R[$s:generate]=$GEN ;;
    *) die "unknown workload $wl" ;;
  esac
  R[$s:$wl]=$RES
}

get() { field "$3" <<< "${R[$1:$2]:-}"; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.2f", a/b }'; }
meets() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN{ if (v == "" || v == "-") { print "?"; exit }
  ok = (op == ">=") ? (v + 0 >= t + 0) : (v + 0 <= t + 0); print ok ? "yes" : "NO" }'; }

# row LABEL TERN REF RATIO TARGET MET
row() { printf '%-44s %12s %12s %8s %-20s %s\n' "$@"; }

print_summary() {
  local with_ref=$1 wl t r q
  echo
  echo "== Tern benchmark summary ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)) =="
  row "figure" "Tern" "$( [ "$with_ref" = 1 ] && echo reference || echo - )" "ratio" "target" "met"
  for wl in churn steady churn-tls steady-tls; do
    [ -z "${R[tern:$wl]:-}" ] && continue
    t=$(get tern "$wl" cmds_per_s) r=$(get ref "$wl" cmds_per_s) q=$(ratio "$t" "$r")
    local want=2; case $wl in churn) want=4 ;; churn-tls|steady-tls) want=3 ;; esac
    row "IMAP $wl $CLIENTS clients, cmd/s" "$t" "${r:--}" "$q" "ratio >= $want" "$(meets "$q" ">=" $want)"
    row "  p50 / p99 ms" "$(get tern "$wl" p50_ms)/$(get tern "$wl" p99_ms)" \
        "$(get ref "$wl" p50_ms)/$(get ref "$wl" p99_ms)" "" "" ""
    row "  errors" "$(get tern "$wl" errors)" "$(get ref "$wl" errors)" "" "" ""
    row "  server CPU s / peak PSS MB" "$(get tern "$wl" cpu_s)/$(get tern "$wl" peak_pss_mb)" \
        "$(get ref "$wl" cpu_s)/$(get ref "$wl" peak_pss_mb)" "" "" ""
    row "  commands per server CPU second" "$(get tern "$wl" cmds_per_cpu_s)" "$(get ref "$wl" cmds_per_cpu_s)" \
        "$(ratio "$(get tern "$wl" cmds_per_cpu_s)" "$(get ref "$wl" cmds_per_cpu_s)")" "" ""
  done
  if [ -n "${R[tern:smtp]:-}" ]; then
    t=$(get tern smtp e2e_per_s) r=$(get ref smtp e2e_per_s) q=$(ratio "$t" "$r")
    local sink; sink=$(get sink smtp-sink per_s)
    row "SMTP e2e $SMTP_SESSIONS sessions ${SMTP_SIZE}B, msg/s" "$t" "${r:--}" "$q" "ratio >= 5" "$(meets "$q" ">=" 5)"
    row "  arrived / sent" "$(get tern smtp arrived)/$SMTP_MESSAGES" "$(get ref smtp arrived)/$SMTP_MESSAGES" "" "" ""
    row "  accepted msg/s (smtp-source done)" "$(get tern smtp accept_per_s)" "$(get ref smtp accept_per_s)" "" "" ""
    row "  server CPU s" "$(get tern smtp cpu_s)" "$(get ref smtp cpu_s)" "" "" ""
    row "  vs smtp-sink ($sink msg/s)" "$(ratio "$t" "$sink")" "$(ratio "$r" "$sink")" "" "Tern >= 0.5" \
        "$(meets "$(ratio "$t" "$sink")" ">=" 0.5)"
    if [ -n "${R[rounds:smtp]:-}" ]; then
      echo "  (medians of $SMTP_ROUNDS alternated rounds; each round's Tern/sink msg/s:" \
           "$(field 'tern_e2e_per_s/sink_per_s' <<< "${R[rounds:smtp]}" | sed 's/,/, /g'))"
    fi
  fi
  if [ -n "${R[tern:idle]:-}" ]; then
    row "IDLE $IDLE_SESSIONS TLS: sessions idling" "$(get tern idle idling)" "$(get ref idle idling)" "" "" ""
    t=$(get tern idle pss_per_session_kib) r=$(get ref idle pss_per_session_kib)
    row "  server KiB per session (PSS)" "$t" "${r:--}" "$(ratio "$t" "$r")" "Tern <= 32" "$(meets "$t" "<=" 32)"
    row "  server KiB per session (RSS)" "$(get tern idle rss_per_session_kib)" "$(get ref idle rss_per_session_kib)" "" "" ""
    t=$(get tern idle all_exists_s) r=$(get ref idle all_exists_s)
    row "  s until all saw EXISTS (-1: timed out)" "$t" "${r:--}" "" "Tern <= 2" "$(meets "$t" "<=" 2)"
    row "  missing / open s" "$(get tern idle missing)/$(get tern idle open_s)" "$(get ref idle missing)/$(get ref idle open_s)" "" "" ""
  fi
  if [ -n "${R[tern:big]:-}" ]; then
    row "mailbox of $(get tern big messages) msgs: generate msg/s" "$(get tern generate msg_per_s)" \
        "$(get ref generate msg_per_s)" "" "" ""
    t=$(get tern big select_ms) r=$(get ref big select_ms)
    row "  SELECT ms (median of 3)" "$t" "${r:--}" "" "Tern < 100" "$(meets "$t" "<=" 100)"
    row "  FETCH 1:* (UID FLAGS) ms" "$(get tern big fetch_flags_ms)" "$(get ref big fetch_flags_ms)" "" "" ""
    t=$(get tern big rss_growth_mb)
    row "  server RSS growth during FETCH, MB" "$t" "$(get ref big rss_growth_mb)" "" "Tern < 100" "$(meets "$t" "<=" 100)"
  fi
  echo
  echo "Raw results:"
  local k
  for k in $(printf '%s\n' "${!R[@]}" | sort); do echo "  $k: ${R[$k]}"; done
}
