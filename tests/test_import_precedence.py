"""After installation, plain `import asynchat` gives this package on every interpreter."""

import os
import subprocess
import sys
import sysconfig

import pytest

import asynchat

PROBE = "import asynchat; print(asynchat.__file__); print(getattr(asynchat, 'IMPLEMENTATION', 'stdlib'))"


def probe(tmp_path, **env_changes):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ASYNCHAT_USE_STDLIB")}
    env.update(env_changes)
    result = subprocess.run(
        [sys.executable, "-W", "ignore::DeprecationWarning", "-c", PROBE],
        cwd=tmp_path, env=env, capture_output=True, text=True,
    )
    return result


def installed_site_dir():
    site_dir = os.path.dirname(os.path.dirname(os.path.abspath(asynchat.__file__)))
    if not os.path.exists(os.path.join(site_dir, "asynchat-precedence.pth")):
        pytest.fail(
            f"asynchat under test ({asynchat.__file__}) is not an installed copy: "
            "no asynchat-precedence.pth beside it; install with pip install ."
        )
    return site_dir


def test_installed_package_wins_over_the_stdlib(tmp_path):
    site_dir = installed_site_dir()
    result = probe(tmp_path)
    assert result.returncode == 0, result.stderr
    path, implementation = result.stdout.split()
    assert path == os.path.join(site_dir, "asynchat", "__init__.py")
    assert implementation == asynchat.IMPLEMENTATION


def test_environment_variable_restores_the_stdlib_module(tmp_path):
    installed_site_dir()
    stdlib_copy = os.path.join(sysconfig.get_path("stdlib"), "asynchat.py")
    result = probe(tmp_path, ASYNCHAT_USE_STDLIB="1")
    if os.path.exists(stdlib_copy):
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == [stdlib_copy, "stdlib"]
    else:
        # 3.12+: there is no stdlib module to restore; PathFinder still finds ours.
        assert result.returncode == 0, result.stderr
        assert result.stdout.split()[1] == asynchat.IMPLEMENTATION
