"""CPython's own suites that drive async_chat, run unchanged against this package, per engine.

The files are used where they lie (never copied), with default settings:
- up to 3.11, the running interpreter's own test_asynchat, test_ftplib,
  test_poplib, test_smtplib and test_smtpd (they ``import asynchat``);
- on 3.12+, its own test_ftplib, test_poplib and test_smtplib, which import
  ``test.support.asynchat`` and ``test.support.asyncore``: the driver points
  those names at this package and at the asyncore it subclasses; plus 3.11's
  test_asynchat.py from ASYNCHAT_CPYTHON_TEST_FILE (tests/run.sh finds it).

Each runs under asyncore's own loop, and again under asynchat.loop() and under
asynchat.serve_asyncio() (the map on an asyncio loop of the server thread's own,
for each call's slice of time): the driver points asyncore.loop (test_asynchat,
test_ftplib, test_poplib) and asyncore.poll2 / asyncore.poll, which
test_smtplib calls for one iteration at a time, at it, and checks that it ran.
test_smtpd runs no loop.
"""

import os
import re
import subprocess
import sys
import sysconfig
import warnings

import pytest
from engines import engine_modules

import asynchat

# Proves which asynchat it tests, runs one suite, and proves no other asynchat was loaded.
DRIVER = r"""
import importlib, importlib.util, sys, unittest, warnings
suite_name, implementation, loop_name = sys.argv[1:4]
import asynchat
assert hasattr(asynchat, "IMPLEMENTATION"), "another asynchat shadows ours: " + asynchat.__file__
assert asynchat.IMPLEMENTATION == implementation, (asynchat.IMPLEMENTATION, implementation)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import asyncore
assert issubclass(asynchat.async_chat, asyncore.dispatcher), "two asyncore modules in play"
import test.support
if sys.version_info >= (3, 12):
    for name, module in (("asynchat", asynchat), ("asyncore", asyncore)):
        sys.modules["test.support." + name] = module
        setattr(test.support, name, module)
if suite_name.endswith(".py"):
    spec = importlib.util.spec_from_file_location("test_asynchat_311", suite_name)
    suite_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(suite_module)
else:
    suite_module = importlib.import_module(suite_name)
iterations = [0]
if loop_name == "asynchat":
    import asynchat._loop
    iterate = asynchat._loop._MapPoller.iterate
    def counted(self, timeout):
        iterations[0] += 1
        return iterate(self, timeout)
    asynchat._loop._MapPoller.iterate = counted
    asyncore.loop = asynchat.loop
    asyncore.poll = asyncore.poll2 = lambda timeout=0.0, map=None: asynchat.loop(timeout, map=map, count=1)
elif loop_name == "asyncio":
    # Each call runs the map on an event loop of the calling thread's (the suites' servers
    # run in threads): count times timeout seconds, then serve_asyncio() hands the map back.
    import asyncio, threading
    event_loops = threading.local()
    def on_asyncio(timeout=30.0, use_poll=False, map=None, count=None):
        if map is None:
            map = asyncore.socket_map
        if not map:
            return
        if getattr(event_loops, "loop", None) is None:
            event_loops.loop = asyncio.new_event_loop()
        iterations[0] += 1
        until = None if count is None else asyncio.sleep(timeout * count)
        event_loops.loop.run_until_complete(asynchat.serve_asyncio(map, interval=max(timeout, 0.001), until=until))
    asyncore.loop = on_asyncio
    asyncore.poll = asyncore.poll2 = lambda timeout=0.0, map=None: on_asyncio(timeout, map=map, count=1)
print("testing", asynchat.__file__, asynchat.IMPLEMENTATION, "under", loop_name, "with", suite_module.__file__,
      flush=True)
tests = unittest.defaultTestLoader.loadTestsFromModule(suite_module)
result = unittest.TextTestRunner(verbosity=2).run(tests)
others = [(name, getattr(module, "__file__", None)) for name, module in list(sys.modules.items())
          if name.rsplit(".", 1)[-1] == "asynchat" and module is not asynchat]
assert not others, f"another asynchat module was loaded: {others}"
assert loop_name == "asyncore" or iterations[0], loop_name + " never ran"
print(loop_name, "iterations:", iterations[0])
sys.exit(0 if result.wasSuccessful() and result.testsRun else 1)
"""

STDLIB_TESTS = os.path.join(sysconfig.get_path("stdlib"), "test")
IMPLEMENTATIONS = ["cython", "python"]


def suites():
    if sys.version_info < (3, 12):
        return ["test.test_asynchat", "test.test_ftplib", "test.test_poplib", "test.test_smtplib", "test.test_smtpd"]
    return ["test_asynchat.py (3.11)", "test.test_ftplib", "test.test_poplib", "test.test_smtplib"]


def locate(suite):
    if suite == "test_asynchat.py (3.11)":
        path = os.environ.get("ASYNCHAT_CPYTHON_TEST_FILE")
        if not path:
            pytest.skip("CPython 3.11's test_asynchat.py not found (set ASYNCHAT_CPYTHON_TEST_FILE)")
        if not os.path.exists(path):
            pytest.fail(f"ASYNCHAT_CPYTHON_TEST_FILE={path} does not exist")
        return path
    if not os.path.exists(os.path.join(STDLIB_TESTS, suite.split(".")[-1] + ".py")):
        pytest.skip(f"this interpreter ships no {suite}")
    return suite


# Every suite on both engines under asyncore.loop(), as the suites are written; under
# asynchat.loop() (and serve_asyncio(), see LOOPS) on the engine this interpreter uses by
# default (the socket suites compare the loops on both engines).  test_smtpd runs no loop.
# serve_asyncio() is Python over asyncio: it runs them on 3.11 (the standard library's own
# asynchat tests) and 3.14 (test.support's), to keep CI's time.
LOOPS = ("asyncore", "asynchat", "asyncio") if sys.version_info[:2] in ((3, 11), (3, 14)) else ("asyncore", "asynchat")
CASES = [
    (suite, implementation, loop_name)
    for suite in suites()
    for loop_name in LOOPS
    for implementation in IMPLEMENTATIONS
    if loop_name == "asyncore" or (implementation == asynchat.IMPLEMENTATION and "smtpd" not in suite)
]


@pytest.mark.skipif(sys.implementation.name != "cpython", reason="CPython's test.support is needed")
@pytest.mark.parametrize("suite,implementation,loop_name", CASES, ids=["-".join(case) for case in CASES])
def test_cpython_suite_passes(suite, implementation, loop_name, tmp_path):
    target = locate(suite)
    if implementation not in engine_modules():
        pytest.skip("compiled engine not built here")
    env = dict(os.environ)
    env.pop("ASYNCHAT_NO_EXTENSIONS", None)
    if implementation == "python":
        env["ASYNCHAT_NO_EXTENSIONS"] = "1"

    def run_suite():
        result = subprocess.run(
            [sys.executable, "-W", "ignore::DeprecationWarning", "-c", DRIVER, target, implementation, loop_name],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        report = result.stdout + result.stderr
        assert "testing " in result.stdout, report[-4000:]
        return result.returncode, report

    # The suites have races of their own (test_ftplib's test_storlines decodes each
    # 1024-byte read apart, so a read that ends inside a UTF-8 character counts it
    # twice; seen in about one run in ten): a failure counts when it happens three
    # times in a row, and one that does not is reported.
    failed = []
    for _ in range(3):
        returncode, report = run_suite()
        if returncode == 0:
            break
        failed.append(re.findall(r"^(?:FAIL|ERROR): (.*)$", report, re.MULTILINE))
    assert returncode == 0, report[-6000:]
    if failed:
        warnings.warn(f"{suite} ({implementation}, {loop_name}) failed, then passed: {failed}", stacklevel=1)
