# Sourced by the install scripts (install-baselines.sh, install-test-deps.sh):
# what both do to install Debian's packages.

# as_root NAME MISSING sets sudo to what runs a command as root: nothing
# for root, else sudo. Without sudo it stops, saying what to install.
as_root() {
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		if ! command -v sudo >/dev/null 2>&1; then
			echo "$1: need root to install$2 (apt-get install -y$2)" >&2
			exit 1
		fi
		sudo="sudo"
	fi
}

# apt_get ARGS... runs apt-get as root, quietly and asking nothing.
apt_get() {
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get -qq "$@"
}
