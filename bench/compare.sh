#!/usr/bin/env bash
# `make bench-compare`: the same workloads as bench/run.sh against Tern and against Dovecot (IMAP,
# LMTP, maildir) + Postfix (SMTP -> LMTP), back to back, each from a throw-away configuration on
# loopback test ports; prints every figure and the ratio Tern/reference. Installs Debian's dovecot-imapd,
# dovecot-lmtpd and postfix when missing, with a policy-rc.d that keeps their system daemons from
# starting. Sizes as in bench/run.sh (DURATION, CLIENTS, SMTP_MESSAGES, IDLE_SESSIONS, BIG_MESSAGES, ...).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export PATH=$PATH:/usr/sbin

install_reference() {
  local want=(dovecot-imapd dovecot-lmtpd postfix) missing=() p
  for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    die "missing ${missing[*]}: as root run: apt-get install -y --no-install-recommends ${missing[*]}"
  fi
  log "installing ${missing[*]} (their system services are kept from starting)"
  apt-get update -qq
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  local placed=0 rc=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && placed=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
  [ $placed = 1 ] && rm -f /usr/sbin/policy-rc.d
  [ $rc = 0 ] || die "apt-get install failed"
}

[ "$(id -u)" -eq 0 ] || die "bench-compare runs Dovecot and Postfix from temp configs and needs root"
install_reference
build_tools
setup_workdir
tern_start
dovecot_start
postfix_start
started=$(date +%s)
for wl in $WORKLOADS; do
  if [ "$wl" = smtp ]; then
    smtp_rounds  # Tern and the sink alternated; Postfix (45 s a run) once
    run_workload ref smtp
    continue
  fi
  run_workload tern "$wl"
  run_workload ref "$wl"
done
print_summary 1
log "workloads took $(( $(date +%s) - started )) s"
