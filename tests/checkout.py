"""The project checkout, and clean copies of it for builds that must neither reuse nor leave artifacts."""

import os
import shutil

CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_ARTIFACTS = shutil.ignore_patterns(
    ".git",
    ".venv",
    "build",
    "dist",
    "*.egg-info",
    "*.so",
    "*.c",
    "__pycache__",
    ".hypothesis",
    ".pytest_cache",
    ".benchmarks",
    ".ruff_cache",
    ".mypy_cache",
    "results",
)


def clean_copy(destination):
    shutil.copytree(CHECKOUT, destination, ignore=_ARTIFACTS)
    return destination
