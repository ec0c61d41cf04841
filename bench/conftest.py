"""Shared fixtures for the benchmark suites."""

import pytest

import implementations


def pytest_generate_tests(metafunc):
    if "implementation" in metafunc.fixturenames:
        metafunc.parametrize("implementation", implementations.available())


@pytest.fixture
def base(implementation):
    """The async_chat class to benchmark, running on the implementation's engine."""
    with implementations.engine_for(implementation):
        yield implementations.base_class(implementation)
