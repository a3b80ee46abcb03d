#!/usr/bin/env bash
# Make sure each named command exists; install its Debian package when it does not
# and we are root, otherwise say what to install.
set -euo pipefail

package_for() {
    case "$1" in
        redis-server) echo redis-server ;;
        redis-sentinel) echo redis-sentinel ;;
        prometheus | promtool) echo prometheus ;;
        *) echo "$1" ;;
    esac
}

missing=()
for command in "$@"; do
    command -v "$command" >/dev/null 2>&1 || missing+=("$(package_for "$command")")
done
[ ${#missing[@]} -eq 0 ] && exit 0

packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "qwatch needs these packages, which are not installed: $packages" >&2
    echo "install them (on Debian/Ubuntu: sudo apt-get install $packages) and run make again" >&2
    exit 1
fi
echo "installing $packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $packages >/dev/null
