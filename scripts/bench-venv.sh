#!/usr/bin/env bash
# The tools a user would otherwise pick, installed as their users install them,
# in a virtualenv of their own (rq-exporter pins redis<6). The stamp holds the
# package list, so a virtualenv made before a tool was added gets it too.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-bench
stamp=$venv/.installed
# six: rq-dashboard 0.9.0 imports it without declaring it
# flower: what a Celery user runs for queue lengths (it brings celery and kombu)
packages=("rq-exporter==3.1.0" "rq-dashboard==0.9.0" "six" "rq>=2.12,<3" "flower==2.2.0")
[ -f "$stamp" ] && [ "$(cat "$stamp")" = "${packages[*]}" ] && exit 0
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "${packages[@]}"
echo "${packages[*]}" > "$stamp"
