#!/bin/sh
# Make sure PHP's command-line interpreter is installed: the real-PrivateBin tests
# (tests/privatebin_server.py) run PrivateBin's source under `php -S`. Idempotent and fast
# when it already is. PrivateBin 2.x needs no PHP extension beyond what php-cli ships.
set -eu

if command -v php >/dev/null 2>&1; then
    echo "ensure-php: already installed ($(php -r 'echo PHP_VERSION;'))"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-php: php not found. Install it with:" >&2
    echo "    sudo apt-get install -y --no-install-recommends php-cli" >&2
    echo "  (without it the real-PrivateBin tests are skipped)" >&2
    exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-php: no apt-get here; install php-cli yourself" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends php-cli >/dev/null

command -v php >/dev/null 2>&1 || { echo "ensure-php: install finished but no php found" >&2; exit 1; }
echo "ensure-php: installed $(php -r 'echo PHP_VERSION;')"
