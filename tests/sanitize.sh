#!/usr/bin/env bash
# The compiled engine built with AddressSanitizer and UndefinedBehaviorSanitizer (clang), then the
# engine tests and a longer engine-against-engine fuzz run (tests/test_engine_fuzz.py) under them.
# A memory error or undefined behaviour aborts the run with the sanitizer's report.
#
#   bash tests/sanitize.sh            # python3; needs clang and Debian's libclang-rt-14-dev
#   PYTHON=python3.12 bash tests/sanitize.sh -- -k differential
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
py=${PYTHON:-python3}
[ "${1:-}" = "--" ] && shift
venv="$repo/.venv/sanitize"
asan_runtime=$(clang -print-file-name=libclang_rt.asan-$(uname -m).so)
[ -f "$asan_runtime" ] || { echo "no ASan runtime at $asan_runtime (apt-get install libclang-rt-14-dev)" >&2; exit 1; }

echo "=== compiled engine with -fsanitize=address,undefined, in $venv"
rm -rf "$venv"
"$py" -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1"
# Built from a clean copy, so that neither this build nor a later normal one reuses the other's
# objects from build/; --no-cache-dir, so that no cached wheel stands in for it.
source=$(mktemp -d)
trap 'rm -rf "$source"' EXIT
(cd "$repo/tests" && "$py" -c 'import sys, checkout; checkout.clean_copy(sys.argv[1])' "$source/src")
CC=clang LDSHARED="clang -shared" CFLAGS="$flags" LDFLAGS="-fsanitize=address,undefined" \
    ASYNCHAT_REQUIRE_EXTENSIONS=1 "$venv/bin/python" -m pip install -q --no-cache-dir "$source/src" --group "$source/src/pyproject.toml:test"

# The runtime must be loaded before the interpreter, which is not built with it; CPython's
# own allocations are left alone by PYTHONMALLOC=malloc only in that ASan then sees them all.
export LD_PRELOAD=$asan_runtime
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export PYTHONMALLOC=malloc
export ASYNCHAT_EXPECT_IMPLEMENTATION=cython
cd "$repo"
"$venv/bin/python" -c '
import asynchat._speedups as engine, subprocess, sys
symbols = subprocess.run(["nm", "-D", engine.__file__], capture_output=True, text=True, check=True).stdout
assert "__asan_" in symbols and "__ubsan_" in symbols, "the engine was not built with the sanitizers"
print("engine, with ASan and UBSan:", engine.__file__)'
engine_tests=(tests/test_api.py tests/test_attribute_shapes.py tests/test_backpressure.py
              tests/test_differential.py tests/test_engine_edges.py tests/test_faults.py
              tests/test_message_limit.py tests/test_output_wire.py tests/test_output_rule.py
              tests/test_settings.py tests/test_subclassing.py tests/test_loopback.py tests/test_asynchat_loop.py)
"$venv/bin/pytest" -q -p no:cacheprovider "${engine_tests[@]}" "$@"
echo "=== engine-against-engine fuzz run (HYPOTHESIS_PROFILE=fuzz)"
HYPOTHESIS_PROFILE=fuzz "$venv/bin/pytest" -q -p no:cacheprovider tests/test_engine_fuzz.py "$@"
