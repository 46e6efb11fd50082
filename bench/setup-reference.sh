#!/usr/bin/env bash
# Installs the tools `npm run bench:compare` measures Palisade against, from Debian's packages:
# fail2ban (fail2ban-regex + its filter.d), sshguard (sshg-parser in /usr/libexec/sshguard) and
# GNU time (/usr/bin/time -v gives every tool's peak RSS the same way). crowdsec 1.4.6 itself is
# unpacked by scripts/setup-reference.sh (no daemon is started by either script).
# Idempotent: packages already present are not fetched again.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v fail2ban-regex >/dev/null 2>&1 || need+=(fail2ban)
[ -x /usr/libexec/sshguard/sshg-parser ] || need+=(sshguard)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  # Package installs must not start daemons (no systemd here anyway; policy-rc.d for sysvinit).
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ ! -x .cache/crowdsec-deb/root/usr/bin/crowdsec ]; then
  if [ -x scripts/setup-reference.sh ] || [ -f scripts/setup-reference.sh ]; then bash scripts/setup-reference.sh; fi
fi

command -v fail2ban-regex >/dev/null && echo "fail2ban-regex: $(fail2ban-regex --version 2>&1 | head -1)"
[ -x /usr/libexec/sshguard/sshg-parser ] && echo "sshg-parser: $(dpkg-query -W -f='${Version}' sshguard 2>/dev/null)"
[ -x .cache/crowdsec-deb/root/usr/bin/crowdsec ] && echo "crowdsec: $(.cache/crowdsec-deb/root/usr/bin/crowdsec -version 2>&1 | grep -m1 -i version)"
exit 0
