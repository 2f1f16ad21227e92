#!/usr/bin/env bash
# Node.js and npm for the workflow linter; installed from Debian's packages when missing.
set -euo pipefail
if command -v npm >/dev/null 2>&1; then
  echo "node: $(node --version), npm: $(npm --version) (already installed)"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "npm is missing: install Node.js 20+ (e.g. sudo apt-get install nodejs npm) and rerun" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
echo "node: installed $(node --version)"
