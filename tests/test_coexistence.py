"""Installed beside other providers of ``asynchat``, in fresh venvs, from a built wheel.

On 3.12+ ``pyasynchat`` (pulled by pyftpdlib) and ``standard-asynchat`` (pulled
by standard-smtpd) install ``asynchat/__init__.py`` into site-packages; up to
3.11 the standard library has the module.  In any order of install,
reinstall, upgrade and uninstall: while this package is installed,
``import asynchat`` gives it; once it is uninstalled the other module works,
its file intact (its hash matches its own RECORD); ``pip check`` is clean;
nothing of ours is left behind.  The other distributions come from the
package index.  Runs on CPython 3.11 and 3.12 (a few minutes).
"""

import json
import os
import subprocess
import sys

import pytest
from checkout import clean_copy

pytestmark = pytest.mark.skipif(
    sys.implementation.name != "cpython" or sys.version_info[:2] not in ((3, 11), (3, 12)),
    reason="packaging scenarios run on CPython 3.11 (stdlib module) and 3.12 (backports)",
)

OURS = ("_asynchat_home", "asynchat_precedence.py", "asynchat-precedence.pth", "asynchat-stubs")
DISTRIBUTION = "fast-asynchat"  # what pip calls this package; the import name is asynchat

# Which asynchat a plain import gives, and whether its file is intact per its distribution's RECORD.
PROBE = r"""
import base64, hashlib, importlib.metadata as md, json, os, sys, sysconfig, warnings
warnings.simplefilter("ignore")
try:
    import asynchat
except ImportError as exc:
    print(json.dumps({"who": "missing", "error": str(exc)})); sys.exit()
path = os.path.realpath(getattr(asynchat, "__file__", None) or "")
who, intact = None, None
if hasattr(asynchat, "IMPLEMENTATION"):
    who = "ours"
elif path == os.path.realpath(os.path.join(sysconfig.get_path("stdlib"), "asynchat.py")):
    who = "stdlib"
else:
    for dist in md.distributions():
        for f in dist.files or ():
            if os.path.realpath(f.locate()) == path:
                who = dist.metadata["Name"]
                digest = base64.urlsafe_b64encode(hashlib.sha256(open(path, "rb").read()).digest())
                intact = f.hash is not None and f.hash.value == digest.rstrip(b"=").decode()
assert hasattr(asynchat, "async_chat"), path
print(json.dumps({"who": who, "intact": intact, "path": path}))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    tree = clean_copy(tmp_path_factory.mktemp("src") / "asynchat")
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-q", "-w", str(out), str(tree)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (name,) = os.listdir(out)
    return str(out / name)


class Venv:
    def __init__(self, root):
        subprocess.run([sys.executable, "-m", "venv", str(root)], check=True, timeout=300)
        self.python = str(root / "bin" / "python")
        self.site = subprocess.run(
            [self.python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    def pip(self, *args):
        result = subprocess.run(
            [self.python, "-m", "pip", "-q", "--disable-pip-version-check", *args],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, f"pip {' '.join(args)}:\n{result.stdout[-2000:]}{result.stderr[-2000:]}"

    def which(self, **env_changes):
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCHAT_") and k != "PYTHONPATH"}
        env.update(env_changes)
        result = subprocess.run(
            [self.python, "-c", PROBE], capture_output=True, text=True, env=env, cwd=self.site, timeout=60
        )
        assert result.returncode == 0, result.stderr[-2000:]
        return json.loads(result.stdout)

    def assert_gives(self, who, **env_changes):
        seen = self.which(**env_changes)
        assert seen["who"] == who, seen
        if who not in ("ours", "stdlib", "missing"):
            assert seen["intact"], f"{who}'s asynchat/__init__.py differs from its RECORD: {seen}"
        check = subprocess.run([self.python, "-m", "pip", "check"], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr

    def leftovers(self):
        return sorted(
            name
            for name in os.listdir(self.site)
            if name in OURS or name.startswith(("asynchat_precedence", "fast_asynchat-"))
        )


OTHERS = ["pyasynchat", "standard-asynchat"]


@pytest.mark.skipif(sys.version_info < (3, 12), reason="the backports install only on 3.12+")
@pytest.mark.parametrize("other", OTHERS)
def test_other_first_then_ours_through_reinstall_upgrade_and_uninstall(tmp_path, wheel, other):
    venv = Venv(tmp_path / "venv")
    venv.pip("install", other)
    venv.assert_gives(other)
    venv.pip("install", wheel)
    venv.assert_gives("ours")
    venv.assert_gives(other, ASYNCHAT_USE_OTHER="1")
    venv.assert_gives(other, ASYNCHAT_USE_STDLIB="1")  # the older name still works
    venv.pip("install", "--force-reinstall", "--no-deps", other)
    venv.assert_gives("ours")
    venv.pip("install", "--upgrade", other)
    venv.assert_gives("ours")
    venv.pip("uninstall", "-y", other)
    venv.assert_gives("ours")
    venv.pip("install", other)
    venv.pip("install", "--force-reinstall", "--no-deps", wheel)
    venv.assert_gives("ours")
    venv.pip("uninstall", "-y", DISTRIBUTION)
    venv.assert_gives(other)
    assert venv.leftovers() == []


@pytest.mark.skipif(sys.version_info < (3, 12), reason="the backports install only on 3.12+")
@pytest.mark.parametrize("other", OTHERS)
def test_ours_first_then_other_then_uninstall_ours(tmp_path, wheel, other):
    venv = Venv(tmp_path / "venv")
    venv.pip("install", wheel)
    venv.assert_gives("ours")
    venv.assert_gives("missing", ASYNCHAT_USE_OTHER="1")
    venv.pip("install", other)
    venv.assert_gives("ours")
    venv.pip("uninstall", "-y", DISTRIBUTION)
    venv.assert_gives(other)
    assert venv.leftovers() == []


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="the standard library has asynchat up to 3.11")
def test_beside_the_standard_library_module(tmp_path, wheel):
    venv = Venv(tmp_path / "venv")
    venv.assert_gives("stdlib")
    venv.pip("install", wheel)
    venv.assert_gives("ours")
    venv.assert_gives("stdlib", ASYNCHAT_USE_OTHER="1")
    venv.pip("install", "--force-reinstall", "--no-deps", wheel)
    venv.assert_gives("ours")
    venv.pip("uninstall", "-y", DISTRIBUTION)
    venv.assert_gives("stdlib")
    assert venv.leftovers() == []
