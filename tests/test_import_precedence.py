"""After installation, plain `import asynchat` gives this package on every interpreter."""

import os
import subprocess
import sys
import sysconfig

import pytest

import asynchat

PROBE = "import asynchat; print(asynchat.__file__); print(getattr(asynchat, 'IMPLEMENTATION', 'other'))"


def run(tmp_path, args, **env_changes):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ASYNCHAT_USE_STDLIB", "ASYNCHAT_USE_OTHER")}
    env.update(env_changes)
    return subprocess.run(
        [sys.executable, "-W", "ignore::DeprecationWarning", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )


def installed_site_dir():
    """site-packages of the copy under test: it lives in <site>/_asynchat_home/asynchat/."""
    package = os.path.dirname(os.path.abspath(asynchat.__file__))
    home = os.path.dirname(package)
    site_dir = os.path.dirname(home)
    if os.path.basename(home) != "_asynchat_home" or not os.path.exists(
        os.path.join(site_dir, "asynchat-precedence.pth")
    ):
        pytest.fail(f"asynchat under test ({asynchat.__file__}) is not an installed copy; install with pip install .")
    return site_dir


def test_installed_package_wins(tmp_path):
    site_dir = installed_site_dir()
    result = run(tmp_path, ["-c", PROBE])
    assert result.returncode == 0, result.stderr
    path, implementation = result.stdout.split()
    assert path == os.path.join(site_dir, "_asynchat_home", "asynchat", "__init__.py")
    assert implementation == asynchat.IMPLEMENTATION


@pytest.mark.parametrize("variable", ["ASYNCHAT_USE_OTHER", "ASYNCHAT_USE_STDLIB"])
def test_opting_out_gives_the_other_module(tmp_path, variable):
    installed_site_dir()
    stdlib_copy = os.path.join(sysconfig.get_path("stdlib"), "asynchat.py")
    result = run(tmp_path, ["-c", PROBE], **{variable: "1"})
    if os.path.exists(stdlib_copy):
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == [stdlib_copy, "other"]
    else:
        # 3.12+: nothing else here provides asynchat (tests/test_coexistence.py installs some).
        assert "No module named 'asynchat'" in result.stderr


def test_opting_out_at_start_up_imports_nothing_of_ours(tmp_path):
    installed_site_dir()
    result = run(tmp_path, ["-c", "import sys; print('asynchat_precedence' in sys.modules)"], ASYNCHAT_USE_OTHER="1")
    assert result.stdout.strip() == "False", result.stderr
    result = run(tmp_path, ["-c", "import sys; print('asynchat_precedence' in sys.modules)"])
    assert result.stdout.strip() == "True", result.stderr


def test_explicit_import_where_pth_files_are_not_processed(tmp_path):
    """python -S skips site (and so every .pth file): importing the hook by hand still works."""
    site_dir = installed_site_dir()
    code = f"import sys; sys.path.append({site_dir!r}); import asynchat_precedence; {PROBE}"
    result = run(tmp_path, ["-S", "-c", code])
    assert result.returncode == 0, result.stderr
    path, implementation = result.stdout.split()
    assert path == os.path.join(site_dir, "_asynchat_home", "asynchat", "__init__.py")
    assert implementation == asynchat.IMPLEMENTATION
