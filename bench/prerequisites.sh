#!/usr/bin/env bash
# What the benchmarks need beyond `npm run setup`: peers to measure against (wrk) and a target
# fast enough that the client is the bottleneck (nginx). Installed without starting any service.
set -euo pipefail
missing=()
for pkg in wrk nginx-light; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
((${#missing[@]})) || { echo "[bench] prerequisites present"; exit 0; }
# policy-rc.d 101 keeps Debian's postinst from starting nginx on port 80; the bench starts its own.
cleanup_policy=false
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && cleanup_policy=true
fi
apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
$cleanup_policy && rm -f /usr/sbin/policy-rc.d
echo "[bench] installed: ${missing[*]}"
