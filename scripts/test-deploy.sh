#!/usr/bin/env bash
# ctest `deploy.files`: the service unit and the container files, checked without systemd running
# and without pulling an image. The unit (deploy/pravaha.service, pointed at this build's
# pravaha-node) passes `systemd-analyze verify` with nothing on stderr (unknown keys only warn
# there) and scores at most MAX_EXPOSURE (2.0) in `systemd-analyze security --offline=true`;
# the Dockerfile and deploy/compose.yaml pass tests/deploy/check_files.py; and every shared
# library pravaha-node loads comes from a package the image's run stage installs (or one those
# depend on, or one debian:12-slim has).
# Usage: scripts/test-deploy.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:?usage: test-deploy.sh BUILD_DIR}" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
max_exposure=${MAX_EXPOSURE:-2.0}

unit=$tmp/pravaha.service
sed "s|/usr/local/bin/pravaha-node|$build/runtime/pravaha-node|" "$src/deploy/pravaha.service" >"$unit"
if ! systemd-analyze verify "$unit" 2>"$tmp/verify.err"; then
  echo "test-deploy: systemd-analyze verify failed:"; cat "$tmp/verify.err"; exit 1
fi
if [ -s "$tmp/verify.err" ]; then
  echo "test-deploy: systemd-analyze verify warned:"; cat "$tmp/verify.err"; exit 1
fi
# --threshold counts in tenths of the exposure level it prints.
threshold=$(awk -v m="$max_exposure" 'BEGIN { print int(m * 10) }')
if ! systemd-analyze security --offline=true --threshold="$threshold" "$unit" >"$tmp/security.txt" 2>&1; then
  tail -3 "$tmp/security.txt"; echo "test-deploy: the unit's exposure is above $max_exposure"; exit 1
fi
exposure=$(sed -nE 's/.*Overall exposure level for [^:]*: ([0-9.]+).*/\1/p' "$tmp/security.txt")
if [ -z "$exposure" ] || ! awk -v e="$exposure" -v m="$max_exposure" 'BEGIN { exit !(e <= m) }'; then
  echo "test-deploy: the unit's exposure is '$exposure', at most $max_exposure wanted"; exit 1
fi
grep -qE '^u pravaha ' "$src/deploy/pravaha.sysusers" || { echo "test-deploy: no pravaha user in pravaha.sysusers"; exit 1; }
grep -qE '^PRAVAHA_OPTS=' "$src/deploy/pravaha.default" || { echo "test-deploy: pravaha.default sets no PRAVAHA_OPTS"; exit 1; }

python3 "$src/tests/deploy/check_files.py" "$src"

# The run stage's packages, and everything they depend on.
listed=$(sed -n '/^FROM debian:12-slim/,$p' "$src/Dockerfile" | tr -d '\\' | tr -s ' \n' '\n' |
         grep -E '^lib[a-z0-9.+-]+$' || true)
[ -n "$listed" ] || { echo "test-deploy: no library packages found in the run stage"; exit 1; }
apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
  --no-replaces --no-enhances $listed 2>/dev/null | grep -vE '^ ' | sort -u >"$tmp/reachable"
missing=""
for lib in $(ldd "$build/runtime/pravaha-node" | awk '$3 ~ /^\// {print $3}'); do
  pkg=$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null || dpkg -S "$lib" 2>/dev/null || echo "?")
  pkg=${pkg%%:*}
  case "$pkg" in libc6|libgcc-s1|libstdc++6|zlib1g) continue ;; esac  # in debian:12-slim
  grep -qx "$pkg" "$tmp/reachable" || missing+=" $pkg($lib)"
done
if [ -n "$missing" ]; then
  echo "test-deploy: the image's run stage lacks:$missing"; exit 1
fi
echo "test-deploy: unit verified (exposure $exposure), container files and run-stage libraries ok"
