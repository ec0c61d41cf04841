"""Shared set-up for the benchmark suites: bench/ modules import each other, and tests/' helpers, by name."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

import leftover_processes  # noqa: E402


def pytest_configure(config):
    leftover_processes.register(config)
