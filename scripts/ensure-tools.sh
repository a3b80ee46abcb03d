#!/usr/bin/env bash
# Make sure each named command exists. When some are missing, first say which, from
# which Debian package and what each is for; then, as root with apt-get, install the
# packages, otherwise say how to install them.
set -euo pipefail

package_for() {
    case "$1" in
        prometheus | promtool) echo prometheus ;;
        chromedriver) echo chromium-driver ;;
        *) echo "$1" ;;
    esac
}

needed_for() {
    case "$1" in
        redis-server) echo "the private Redis that the tests, the demo and the benchmarks start" ;;
        redis-sentinel) echo "the tests of qwatch serve --sentinel" ;;
        prometheus) echo "the tests that scrape qwatch serve with a real Prometheus" ;;
        promtool) echo "the tests of the bundled alert and recording rules" ;;
        chromium | chromedriver) echo "the tests of the web dashboard, in a real browser" ;;
        *) echo "make's targets" ;;
    esac
}

missing=()
for command in "$@"; do
    command -v "$command" >/dev/null 2>&1 || missing+=("$command")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "qwatch: missing commands, by Debian package and what needs them:" >&2
for command in "${missing[@]}"; do
    printf '  %-15s (package %s): %s\n' "$command" "$(package_for "$command")" \
        "$(needed_for "$command")" >&2
done
packages=$(for command in "${missing[@]}"; do package_for "$command"; done | sort -u | tr '\n' ' ')
packages=${packages% }
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install them (on Debian/Ubuntu: sudo apt-get install $packages) and run make again" >&2
    exit 1
fi
echo "qwatch: installing $packages as root: apt-get update, then apt-get install" \
    "--no-install-recommends $packages" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $packages >/dev/null
