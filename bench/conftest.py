"""The benchmark suites fail the session if a process they started outlives it, as the tests do."""

import leftover_processes  # tests/leftover_processes.py (pyproject.toml puts tests/ on pytest's path)


def pytest_configure(config):
    leftover_processes.register(config)
