#!/usr/bin/env bash
# Makes this checkout ready to build and test, doing only what is missing:
#   1) Debian packages: Chromium (browser tests), Fashion-MNIST (its report), DejaVu fonts
#      (the same glyphs in every rendered PNG), OpenBLAS and LAPACKE with a C compiler (the
#      native addon that makes training fast);
#   2) npm dependencies, with `npm ci`, when node_modules is absent or older than the lock file;
#      the addon is (re)built when missing or older than its source.
# On a system without apt-get it says what to install and goes on (the portable paths still work).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(chromium dataset-fashion-mnist fonts-dejavu-core libopenblas-dev liblapacke-dev gcc)

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${missing[*]} with apt-get" >&2
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: no apt-get here; please install the equivalents of: ${missing[*]}" >&2
    echo "setup: (a Chromium for browser tests, the Fashion-MNIST IDX files, DejaVu fonts, OpenBLAS and LAPACKE with a C compiler)" >&2
  fi
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund   # its postinstall builds the native addon
elif [ ! -f native/build/bilinear_native.node ] || [ native/bilinear_native.c -nt native/build/bilinear_native.node ]; then
  node scripts/build-native.mjs   # e.g. after the BLAS packages were installed above
fi
