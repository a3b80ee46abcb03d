#!/usr/bin/env bash
# The tools a user would otherwise pick, installed as their users install them,
# in a virtualenv of their own (rq-exporter pins redis<6).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-bench
stamp=$venv/.installed
[ -f "$stamp" ] && exit 0
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
# six: rq-dashboard 0.9.0 imports it without declaring it
"$venv/bin/python" -m pip install --quiet "rq-exporter==3.1.0" "rq-dashboard==0.9.0" "six" "rq>=2.12,<3"
# flower: what a Celery user runs for queue lengths (it brings celery and kombu)
"$venv/bin/python" -m pip install --quiet "flower==2.2.0"
touch "$stamp"
