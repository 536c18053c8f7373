#!/bin/sh
# Installs what the tests start or read beside Go, from Debian's packages:
# headless Chromium for the page tests, a CJK font for labels and
# screenshots, poppler-utils, zbar-tools and dmtx-utils to render and decode
# printed labels, openssl to check AES-CMAC tags against. Idempotent:
# installs only what is missing. Needs root, or sudo. Each line names a
# command (or file) the tests look for and the package that provides it.
set -eu
. "$(dirname "$0")/apt.sh"

missing=""
need() { # need COMMAND-OR-FILE PACKAGE
	case "$1" in
	/*) [ -e "$1" ] || missing="$missing $2" ;;
	*) command -v "$1" >/dev/null 2>&1 || missing="$missing $2" ;;
	esac
}
need chromium chromium
need /usr/share/fonts/truetype/wqy/wqy-microhei.ttc fonts-wqy-microhei
# label sheets' default fonts (codegen/printing.DefaultLabelFonts): the PDF
# library embeds single TrueType files, not wqy-microhei's collection
need /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf fonts-dejavu-core
need /usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf fonts-droid-fallback
need pdftoppm poppler-utils
need zbarimg zbar-tools
# DataMatrix labels decoded back (codegen/printing's TestSymbolsDecode)
need dmtxread dmtx-utils
# an independent AES-CMAC to check code version 2's tags against (codegen)
need openssl openssl

if [ -z "$missing" ]; then
	echo "install-test-deps: everything is installed"
	exit 0
fi
as_root install-test-deps "$missing"
echo "install-test-deps: installing$missing"
apt_get update
# shellcheck disable=SC2086 # the list is meant to split
apt_get install -y --no-install-recommends $missing
