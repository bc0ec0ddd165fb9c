#!/bin/sh
# Installs the Debian packages that the build, the stack and the tests need,
# and only those that are missing.  Does nothing when all are present.
# Arguments name extra packages a target needs (make test-cluster).
set -eu

PKGS="build-essential pkg-config libfcgi-dev spawn-fcgi libcurl4-openssl-dev libmariadb-dev
mariadb-server mariadb-client libjson-c-dev libpcre2-dev libcunit1-dev libssl-dev libcrypt-dev
nginx apache2 libapache2-mod-fcgid chromium wrk python3 curl clang-format openssl man-db systemd
tzdata fonts-wqy-microhei"
PKGS="$PKGS $*"

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
# Node.js may come from elsewhere (NodeSource ships npm inside nodejs).
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
[ -z "$missing" ] && exit 0

echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
# Services must not start on install: the stack runs its own copies.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
