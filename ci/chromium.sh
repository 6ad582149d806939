#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed for the browser tests of
# internal/ui (procreg ui). It installs the `chromium` package with apt-get
# when /usr/bin/chromium is missing and this runs as root; otherwise it only
# says what is missing. The tests themselves skip without a browser, and
# fail when CI=true.
set -euo pipefail

if [ -x /usr/bin/chromium ] || [ -n "${PROCREG_CHROMIUM:-}" ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
	echo "chromium: /usr/bin/chromium is missing; install Debian's chromium package (the internal/ui browser tests need it)" >&2
	exit 0
fi
echo "chromium: installing Debian's chromium package" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null
/usr/bin/chromium --version >&2
