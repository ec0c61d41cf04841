"""The session guard (leftover_processes.py) fails a run that leaves a process behind, and kills it."""

import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="the guard reads Linux's /proc")

HERE = os.path.dirname(os.path.abspath(__file__))


def run_session(tmp_path, body):
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(body))
    (tmp_path / "conftest.py").write_text(
        "import leftover_processes\n\n\ndef pytest_configure(config):\n    leftover_processes.register(config)\n"
    )
    env = dict(os.environ, PYTHONPATH=HERE)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_process_left_running_fails_the_session_and_is_killed(tmp_path):
    pid_file = tmp_path / "pid"
    result = run_session(
        tmp_path,
        f"""
        import os, subprocess, sys, time

        def test_forgets_its_server():
            proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
            open({str(pid_file)!r}, "w").write(str(proc.pid))
            # What the guard will look for: the session's token in the process's environment.
            token = ("ASYNCHAT_TEST_SESSION=" + os.environ["ASYNCHAT_TEST_SESSION"]).encode()
            # Right after exec the kernel may not have published the new environment yet.
            deadline = time.monotonic() + 10
            while True:
                with open(f"/proc/{{proc.pid}}/environ", "rb") as f:
                    environ = f.read()
                if environ or time.monotonic() > deadline:
                    break
                time.sleep(0.01)
            assert token in environ.split(b"\\0")
            assert proc.poll() is None
    """,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 passed" in result.stdout and "outlived it (now killed)" in result.stdout, result.stdout
    pid = int(pid_file.read_text())
    assert f"pid {pid}:" in result.stdout
    try:
        with open(f"/proc/{pid}/stat") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        state = "gone"
    assert state in ("gone", "Z"), state  # killed (a zombie until init reaps it)


def test_a_session_that_stops_what_it_started_passes(tmp_path):
    result = run_session(
        tmp_path,
        """
        import subprocess, sys

        def test_stops_its_server():
            proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
            proc.kill()
            proc.wait()
    """,
    )
    assert result.returncode == 0, result.stdout + result.stderr
