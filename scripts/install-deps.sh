#!/usr/bin/env bash
# Installs the Debian 12 packages Tern needs to build and test, when any is missing.
# As root it runs apt-get; otherwise it prints the exact command and fails.
set -euo pipefail
build=(cmake ninja-build g++ make pkg-config libasio-dev libssl-dev libsqlite3-dev libtomlplusplus-dev
       libcli11-dev libargon2-dev libgtest-dev libgmock-dev libbenchmark-dev openssl libunbound-dev)
# postfix (smtp-source, smtp-sink, a receiving MTA), unbound (a test DNS server), python3-dkim (an
# independent DKIM verifier): their daemons are kept from starting (policy-rc.d). swaks needs
# libnet-ssleay-perl for STARTTLS (a Recommends, which --no-install-recommends leaves out).
test=(python3 curl isync sqlite3 swaks libnet-ssleay-perl postfix unbound python3-dkim)
fuzz=(clang libclang-rt-14-dev)
want=("${build[@]}")
[ "${1:-}" = "--test" ] && want+=("${test[@]}")
[ "${1:-}" = "--fuzz" ] && want+=("${fuzz[@]}")
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing packages: ${missing[*]}" >&2
  echo "Run as root:  $cmd" >&2
  exit 1
fi
echo "Installing: ${missing[*]}"
apt-get update -qq
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
# Packages must not start daemons here (postfix would take port 25): Debian's policy-rc.d hook.
placed=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && placed=1
fi
rc=0
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" || rc=$?
[ $placed = 1 ] && rm -f /usr/sbin/policy-rc.d
exit $rc
