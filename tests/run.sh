#!/usr/bin/env bash
# Install this package into a fresh venv for each interpreter and run the whole test suite
# (tests/, plus every benchmark in bench/ once, untimed).
#
#   bash tests/run.sh                       # python3
#   bash tests/run.sh /path/to/python3.13 pypy3 -- -k loopback
#
# Each interpreter gets its own new venv under .venv/test-<name>; the package is
# installed from this checkout (a real wheel build, not the source tree), so the
# tests exercise exactly what users get.  Arguments after -- go to pytest.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
interpreters=()
while [ $# -gt 0 ]; do
    case "$1" in
        --) shift; break ;;
        *) interpreters+=("$1"); shift ;;
    esac
done
[ ${#interpreters[@]} -gt 0 ] || interpreters=(python3)

# CPython 3.11's own test_asynchat.py, for interpreters whose stdlib lacks one (3.12+).
if [ -z "${ASYNCHAT_CPYTHON_TEST_FILE:-}" ]; then
    for py311 in python3.11 "$(pyenv prefix 3.11 2>/dev/null)/bin/python3.11"; do
        if file=$("$py311" -c 'import sysconfig, os; print(os.path.join(sysconfig.get_path("stdlib"), "test", "test_asynchat.py"))' 2>/dev/null) && [ -f "$file" ]; then
            export ASYNCHAT_CPYTHON_TEST_FILE=$file
            break
        fi
    done
fi

# On CPython the compiled engine must build and be the one tested, unless
# ASYNCHAT_REQUIRE_EXTENSIONS=0 is set (e.g. on a machine without a C compiler).
require=${ASYNCHAT_REQUIRE_EXTENSIONS:-1}

# Newer hypothesis and mypy releases have no wheels for PyPy or free-threaded builds, and their
# sources need Rust crates; their pure-Python wheels serve every interpreter.
export PIP_ONLY_BINARY=${PIP_ONLY_BINARY:-hypothesis,mypy,ast-serialize,librt}

status=0
for py in "${interpreters[@]}"; do
    # cpython3.13t for a free-threaded build, apart from cpython3.13.
    name=$("$py" -c 'import sys, sysconfig; t = "t" if sysconfig.get_config_var("Py_GIL_DISABLED") else ""; print(f"{sys.implementation.name}{sys.version_info[0]}.{sys.version_info[1]}{t}")')
    venv="$repo/.venv/test-$name"
    echo "=== $name ($py): fresh venv in $venv"
    rm -rf "$venv"
    "$py" -m venv "$venv"
    "$venv/bin/python" -m pip install -q --upgrade pip
    case "$name" in
        cpython*) expect=$([ "$require" = 0 ] && echo "" || echo cython) ;;
        *) expect=python ;;
    esac
    # The other frameworks' servers (bench-peers) only where they have wheels: not free-threaded.
    extras=$(case "$name" in *t) echo test ;; *) echo test,bench-peers ;; esac)
    ASYNCHAT_REQUIRE_EXTENSIONS=$require "$venv/bin/python" -m pip install -q "$repo[$extras]"
    export ASYNCHAT_EXPECT_IMPLEMENTATION=$expect
    # The venv's pytest script, not `python -m pytest`: the checkout must not be on sys.path.
    # bench/ runs too, each case once and untimed, so the benchmarks stay correct.
    (cd "$repo" && ASYNCHAT_BENCH_SCALE=${ASYNCHAT_BENCH_SCALE:-0.02} "$venv/bin/pytest" tests bench --benchmark-disable "$@") || status=1
done
exit $status
