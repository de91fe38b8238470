#!/usr/bin/env bash
# Installs whatever build and test dependencies are missing (Debian 12 packages only).
# Runs as root or through sudo; does nothing when everything is present.
set -euo pipefail
packages=(g++ cmake ninja-build ccache pkg-config libcaf-dev capnproto libcapnp-dev
          librocksdb-dev libspdlog-dev libfmt-dev catch2 clang-format clang-tidy clang
          libclang-rt-14-dev libcli11-dev libssl-dev openssl curl prometheus python3 python3-yaml)
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# Node.js and npm for the TypeScript client (client/typescript): Debian's unless some other
# installation (e.g. NodeSource, which bundles npm) is already there.
if ! command -v node >/dev/null 2>&1; then
  missing+=(nodejs)
fi
if ! command -v npm >/dev/null 2>&1; then
  missing+=(npm)
fi
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing missing packages: ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd=(sudo)
fi
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}"
