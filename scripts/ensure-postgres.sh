#!/bin/sh
# Make sure the PostgreSQL server binaries (initdb, pg_ctl, postgres) and psql are installed.
# Idempotent and fast when they already are. The tests start their own throw-away server
# (tests/pgserver.py), so we stop the distro from creating/starting its "main" cluster.
set -eu
cd "$(dirname "$0")/.."  # tests.pgserver is imported from the repository root

# One discovery for this script and the tests (tests/pgserver.py): initdb on PATH,
# pg_config --bindir, Debian's /usr/lib/postgresql/<v>/bin, Homebrew's opt/postgresql@<v>/bin.
PYTHON="${VENV_PYTHON:-.venv/bin/python}"
have_server() {
    "$PYTHON" -m tests.pgserver >/dev/null
}

if ! [ -x "$PYTHON" ]; then
    echo "ensure-postgres: $PYTHON not found; run \`make .venv/.installed\` first (or set VENV_PYTHON)" >&2
    exit 1
fi

have_pgaudit() {
    "$PYTHON" -m tests.pgserver --pgaudit >/dev/null
}

if have_server && have_pgaudit; then
    echo "ensure-postgres: found $("$PYTHON" -m tests.pgserver) with pgaudit"
    exit 0
fi

if [ "$(uname -s)" = "Darwin" ] || command -v brew >/dev/null 2>&1; then
    echo "ensure-postgres: PostgreSQL server/client not found. Install them with:" >&2
    echo "    brew install postgresql@17      # keg-only; the tests find it under \$(brew --prefix)/opt" >&2
    exit 1
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-postgres: PostgreSQL server/client not found. Install them with:" >&2
    echo "    sudo apt-get install -y --no-install-recommends postgresql postgresql-client" >&2
    echo "  (or put the directory holding initdb/pg_ctl/postgres/psql on PATH)" >&2
    exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-postgres: no apt-get here; install PostgreSQL (server + psql) yourself" >&2
    exit 1
fi

# postgresql-common reads this drop-in before it would create /var/lib/postgresql/<v>/main,
# so no distro cluster exists and nothing is started or left listening on 5432.
mkdir -p /etc/postgresql-common/createcluster.d
echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/dbaccess-no-main.conf

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends postgresql postgresql-client >/dev/null
# pgaudit for the query-audit tests: Debian names the package after the server's major version.
major=$("$PYTHON" -m tests.pgserver --major)
apt-get install -y -qq --no-install-recommends "postgresql-$major-pgaudit" >/dev/null

# Belt and braces: if a cluster existed from before and the install started it, stop it.
if command -v pg_lsclusters >/dev/null 2>&1; then
    pg_lsclusters --no-header 2>/dev/null | while read -r ver name _port status _rest; do
        if [ "$status" = "online" ]; then
            pg_ctlcluster "$ver" "$name" stop || true
        fi
    done
fi

have_server || { echo "ensure-postgres: install finished but no initdb found" >&2; exit 1; }
have_pgaudit || { echo "ensure-postgres: install finished but pgaudit.so not found" >&2; exit 1; }
echo "ensure-postgres: installed $("$PYTHON" -m tests.pgserver)"
