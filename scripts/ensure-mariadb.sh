#!/bin/sh
# Make sure the MariaDB server (mariadbd, mariadb-install-db) and the mariadb client are
# installed. Idempotent and fast when they already are. The tests start their own throw-away
# server (tests/mysqlserver.py), so the distro service must never be started or left listening.
set -eu

have_all() {
    command -v mariadb >/dev/null 2>&1 || return 1
    command -v mariadb-install-db >/dev/null 2>&1 || return 1
    [ -x /usr/sbin/mariadbd ] || command -v mariadbd >/dev/null 2>&1
}

# Debian's postinst starts the service via invoke-rc.d (no systemd in containers); stop it in
# case an earlier install, or one made without this script, left it running.
stop_distro_service() {
    if [ -x /etc/init.d/mariadb ] && /etc/init.d/mariadb status >/dev/null 2>&1; then
        /etc/init.d/mariadb stop >/dev/null 2>&1 || true
    fi
}

if have_all; then
    stop_distro_service
    echo "ensure-mariadb: already installed ($(mariadb --version))"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-mariadb: MariaDB server/client not found. Install them with:" >&2
    echo "    sudo apt-get install -y --no-install-recommends mariadb-server mariadb-client" >&2
    echo "  (then stop the distro service: sudo systemctl disable --now mariadb)" >&2
    exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-mariadb: no apt-get here; install MariaDB (server + client) yourself" >&2
    exit 1
fi

# policy-rc.d exit 101 = "action forbidden": invoke-rc.d then starts no service during the
# install. Only add (and later remove) it when the machine has none of its own.
policy=/usr/sbin/policy-rc.d
own_policy=no
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod 755 "$policy"
    own_policy=yes
fi
cleanup() { if [ "$own_policy" = yes ]; then rm -f "$policy"; fi; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends mariadb-server mariadb-client >/dev/null

stop_distro_service
have_all || { echo "ensure-mariadb: install finished but mariadbd/mariadb not found" >&2; exit 1; }
echo "ensure-mariadb: installed $(mariadb --version)"
