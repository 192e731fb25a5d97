#!/usr/bin/env bash
# `make bench`: Tern alone on loopback test ports (a throw-away data dir and config), running the
# IMAP churn/steady (plain and TLS), SMTP end-to-end (smtp-source, plus smtp-sink as the protocol
# ceiling), 10,000 TLS IDLE sessions and large-mailbox workloads; prints every figure.
# Sizes: DURATION CLIENTS TARGET SMTP_SESSIONS SMTP_MESSAGES IDLE_SESSIONS IDLE_USERS BIG_MESSAGES,
# WORKLOADS="churn steady churn-tls steady-tls smtp idle big" (see bench/lib.sh and docs/PERFORMANCE.md).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v smtp-source >/dev/null || [ -x /usr/sbin/smtp-source ] || die "smtp-source missing: apt-get install postfix"
export PATH=$PATH:/usr/sbin
build_tools
setup_workdir
tern_start
for wl in $WORKLOADS; do
  if [ "$wl" = smtp ]; then smtp_rounds; continue; fi
  run_workload tern "$wl"
done
print_summary 0
