#!/bin/sh
# Installs what `yima bench --compare` measures yima beside and what the
# PostgreSQL tests start: redis-server and PostgreSQL, and pg_auto_failover
# (pg_autoctl and the monitor's extension, for the database failover drill),
# from Debian's packages. Idempotent: installs only what is missing, and
# does nothing when all are there. Needs root, or sudo.
#
# The bench and the tests start their own servers (a redis-server, initdb
# clusters, a pg_auto_failover formation, in temporary directories on free
# loopback ports); the services the packages may start on 6379 and 5432 are
# not used.
set -eu
. "$(dirname "$0")/apt.sh"

# newest PostgreSQL major version installed, if any
pgversion() {
	ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sed 's|/usr/lib/postgresql/\([0-9]*\)/.*|\1|' | sort -n | tail -1
}

missing=""
command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
if ! command -v initdb >/dev/null 2>&1 && [ -z "$(pgversion)" ]; then
	missing="$missing postgresql"
fi
v="$(pgversion)"
if ! command -v pg_autoctl >/dev/null 2>&1 || { [ -n "$v" ] && [ ! -e "/usr/lib/postgresql/$v/lib/pgautofailover.so" ]; }; then
	missing="$missing auto-failover"
fi
if [ -z "$missing" ]; then
	echo "install-baselines: redis-server, PostgreSQL and pg_auto_failover are installed"
	exit 0
fi

as_root install-baselines "$missing"
apt_get update
# pg_auto_failover's package is per PostgreSQL version: the one installed,
# or the one the postgresql package brings.
if [ -z "$v" ]; then
	v="$(apt-cache depends postgresql 2>/dev/null | sed -n 's/^ *Depends: postgresql-\([0-9][0-9]*\)$/\1/p' | head -1)"
fi
missing="$(echo "$missing" | sed "s/auto-failover/postgresql-${v:-15}-auto-failover/")"
echo "install-baselines: installing$missing"
# shellcheck disable=SC2086 # the list is meant to split
apt_get install -y $missing
