#!/bin/sh
# Installs what `yima bench --compare` measures yima beside: redis-server and
# PostgreSQL, from Debian's packages. Idempotent: installs only what is
# missing, and does nothing when both are there. Needs root, or sudo.
#
# The bench starts its own servers (a redis-server and an initdb cluster in
# temporary directories, on free loopback ports); the services the packages
# may start on 6379 and 5432 are not used.
set -eu

missing=""
command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
	missing="$missing postgresql"
fi
if [ -z "$missing" ]; then
	echo "install-baselines: redis-server and PostgreSQL are installed"
	exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "install-baselines: need root to install$missing (apt-get install -y$missing)" >&2
		exit 1
	fi
	sudo="sudo"
fi
echo "install-baselines: installing$missing"
$sudo apt-get update -qq
# shellcheck disable=SC2086 # the list is meant to split
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
