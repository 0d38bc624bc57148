#!/usr/bin/env bash
# Set up kb on a fresh machine: a virtual environment with every pinned package.
#   scripts/setup.sh          runtime + development packages
#   scripts/setup.sh --test   also the Debian packages the browser tests need
# torch (CPU build) is installed first so that nothing pulls the CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
export PIP_DISABLE_PIP_VERSION_CHECK=1

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/pip install --quiet torch==2.13.0
.venv/bin/pip install --quiet -c constraints.txt -e '.[dev]'

if [ "${1:-}" = "--test" ]; then
  need=()
  for pkg in chromium chromium-driver fonts-noto-cjk; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
  done
  if [ ${#need[@]} -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
fi
echo "kb is set up in .venv"
