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
# cpython3.13t for a free-threaded build, apart from cpython3.13.
name=$("$py" -c 'import sys, sysconfig; t = "t" if sysconfig.get_config_var("Py_GIL_DISABLED") else ""; print(f"{sys.implementation.name}{sys.version_info[0]}.{sys.version_info[1]}{t}")')
venv="$repo/.venv/bench-$name"
echo "=== $name ($py): fresh venv in $venv"
rm -rf "$venv"
"$py" -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
# The other frameworks' servers (bench-peers) only where they have wheels: not free-threaded.
groups=(--group "$repo/pyproject.toml:bench")
case "$name" in *t) ;; *) groups+=(--group "$repo/pyproject.toml:bench-peers") ;; esac
# --prefer-binary: an older matplotlib wheel rather than a build of the newest one (3.13t).
"$venv/bin/python" -m pip install -q --prefer-binary "$repo" "${groups[@]}"
cd "$repo/bench"
exec "$venv/bin/python" report.py "$@"
