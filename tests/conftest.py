"""Session guards and fixtures shared by every test module."""

import os

import pytest
from hypothesis import HealthCheck, settings

import asynchat

# The engine fixture only selects a module, so sharing it across examples is sound.
settings.register_profile(
    "asynchat",
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# The long run CONTRIBUTING.md documents: HYPOTHESIS_PROFILE=long, 100,000 examples per test and engine.
settings.register_profile("long", parent=settings.get_profile("asynchat"), max_examples=100_000)
# The bounded fuzz run of tests/sanitize.sh (test_engine_fuzz.py under the sanitizers).
settings.register_profile("fuzz", parent=settings.get_profile("asynchat"), max_examples=10_000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "asynchat"))

if not hasattr(asynchat, "IMPLEMENTATION"):
    # The standard library's module shadows ours: every test would pass while testing nothing.
    pytest.exit(
        f"'import asynchat' gave {asynchat.__file__}, not this project's package; "
        "install it first (pip install .) and unset ASYNCHAT_USE_OTHER / ASYNCHAT_USE_STDLIB",
        returncode=3,
    )

_expected = os.environ.get("ASYNCHAT_EXPECT_IMPLEMENTATION")
if _expected and asynchat.IMPLEMENTATION != _expected:
    pytest.exit(
        f"asynchat.IMPLEMENTATION is {asynchat.IMPLEMENTATION!r} but "
        f"ASYNCHAT_EXPECT_IMPLEMENTATION={_expected!r}: the engine that should be tested is missing",
        returncode=3,
    )

import leftover_processes  # noqa: E402
import loopback  # noqa: E402
import reference  # noqa: E402  (tests/ is on sys.path; after the guard on purpose)
from engines import engine_modules, running_on  # noqa: E402
from loopback import close_all  # noqa: E402

# Modules that build wheels, make venvs, run servers for seconds or run mypy: left out of the
# quick inner loop (pytest -m "not slow", see CONTRIBUTING.md).  The package index is "network".
SLOW_MODULES = {
    "test_build",
    "test_coexistence",
    "test_cpython_suites",
    "test_memory",
    "test_prefork_example",
    "test_source_typing",
    "test_soak",
    "test_typing",
}
NETWORK_MODULES = {"test_coexistence"}


def pytest_configure(config):
    leftover_processes.register(config)
    config.addinivalue_line("markers", "slow: builds, venvs, subprocess servers or long runs (not the quick loop)")
    config.addinivalue_line("markers", "network: needs the package index")


def pytest_collection_modifyitems(config, items):
    for item in items:
        module = item.module.__name__.rpartition(".")[2]
        if module in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
        if module in NETWORK_MODULES:
            item.add_marker(pytest.mark.network)


def pytest_report_header(config):
    return (
        f"asynchat {asynchat.__version__} from {os.path.dirname(asynchat.__file__)}, "
        f"engine in use: {asynchat.IMPLEMENTATION}"
    )


def _engine_module(name):
    module = engine_modules().get(name)
    if module is None:
        pytest.skip("compiled engine not built here")
    return module


@pytest.fixture(params=["cython", "python"])
def engine(request):
    """Each engine in turn, installed as the one async_chat uses."""
    with running_on(_engine_module(request.param)) as module:
        yield module


@pytest.fixture(scope="session")
def ref():
    """CPython's own asynchat module, or a skip where this interpreter has none."""
    module = reference.load()
    if module is None:
        pytest.skip("no reference asynchat module on this interpreter")
    return module


# The modules whose socket-level tests also run with the server's channels as asyncio Protocols.
PROTOCOL_MODULES = {"test_loopback", "test_output_rule", "test_tls", "test_soak"}


def pytest_generate_tests(metafunc):
    if "run_loop" in metafunc.fixturenames:
        module = metafunc.module.__name__.rpartition(".")[2]
        if module in PROTOCOL_MODULES:
            names = loopback.LOOPS + loopback.PROTOCOLS
        else:  # test_asynchat_loop, test_timers: the map on uvloop adds nothing to the map on asyncio there
            names = [name for name in loopback.LOOPS if name != "uvloop"]
        metafunc.parametrize("run_loop", names, indirect=True)


@pytest.fixture
def run_loop(request, monkeypatch):
    """Each loop in turn: asyncore.loop() (select, poll), asynchat.loop(), serve_asyncio(), ChatProtocol."""
    run = loopback.loop_function(request.param, monkeypatch)
    yield run
    loopback.close_loop(run)


@pytest.fixture
def sock_map():
    """A socket map of the test's own, every channel in it closed afterwards."""
    m = {}
    yield m
    close_all(m)
