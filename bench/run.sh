#!/usr/bin/env bash
# The main job: install this package into a fresh venv and print the benchmark comparison.
#
#   bash bench/run.sh                      # python3, every suite
#   PYTHON=/path/to/python3.13 bash bench/run.sh -k framing
#
# Arguments go to bench/report.py (see python bench/report.py --help).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
py=${PYTHON:-python3}
name=$("$py" -c 'import sys; print(f"{sys.implementation.name}{sys.version_info[0]}.{sys.version_info[1]}")')
venv="$repo/.venv/bench-$name"
echo "=== $name ($py): fresh venv in $venv"
rm -rf "$venv"
"$py" -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q "$repo[bench,bench-peers]"
cd "$repo/bench"
exec "$venv/bin/python" report.py "$@"
