"""Type checkers see this package's types for ``import asynchat`` on 3.12+ (the asynchat-stubs package).

Up to 3.11 mypy answers ``asynchat`` from its own copy of the standard library's
stubs, so these run on CPython 3.12+ only.
"""

import os
import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    sys.implementation.name != "cpython" or sys.version_info < (3, 12),
    reason="mypy takes asynchat from the stdlib stubs up to 3.11",
)
pytest.importorskip("mypy")

TYPING = os.path.join(os.path.dirname(os.path.abspath(__file__)), "typing")


def mypy(tmp_path, *args):
    # Run from an empty directory, so that only the installed package can answer "asynchat".
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache"), "--no-error-summary", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_correct_server_type_checks_clean_under_strict(tmp_path):
    result = mypy(tmp_path, "--strict", os.path.join(TYPING, "good_server.py"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_misuses_are_reported_on_exactly_the_marked_lines(tmp_path):
    path = os.path.join(TYPING, "misuses.py")
    with open(path) as f:
        expected = {n for n, line in enumerate(f, 1) if line.rstrip().endswith("# error")}
    result = mypy(tmp_path, path)
    reported = {int(m.group(1)) for m in re.finditer(r"misuses\.py:(\d+): error", result.stdout)}
    others = [line for line in result.stdout.splitlines() if " error: " in line and "misuses.py" not in line]
    assert not others, others  # nothing in the stubs themselves
    assert reported == expected, result.stdout


def test_stubs_match_the_runtime_module(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "asynchat"], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
