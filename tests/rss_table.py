"""docs/protection.md's memory table: rss_server.py's peak RSS growth under a pipelining peer, per GC setting.

    pypy3 tests/rss_table.py [MiB ...]      # default: 32 128

Runs with the package installed; each row is one server process, protected
(water marks of 1 MiB / 256 KiB) or not, fed MiB of 16-byte lines by a peer
that reads nothing until it stalls.  On PyPy the rows differ in the GC's
settings: as this machine's CPU makes them, as a CPU that reports a 260 MiB
cache makes them (a 130 MiB nursery), and the documented settings for a
memory-bounded server.
"""

import json
import os
import socket
import subprocess
import sys

import test_memory

HERE = os.path.dirname(os.path.abspath(__file__))
SETTINGS = {
    "this machine's defaults": {},
    "a CPU reporting a 260 MiB cache": {"PYPY_GC_NURSERY": "130MB"},
    "PyPy's fallback nursery": {"PYPY_GC_NURSERY": "4MB"},
    "the documented settings": test_memory.PYPY_GC,
}


def measure(protection, mib, env_changes):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYPY_GC_")}
    env.update(env_changes, PYTHONDONTWRITEBYTECODE="1")
    with subprocess.Popen(
        [sys.executable, test_memory.SERVER, "pipelined", protection], stdout=subprocess.PIPE, env=env
    ) as proc:
        port = int(proc.stdout.readline())
        sent, echoed, _ = test_memory.pipeline(socket.create_connection(("127.0.0.1", port)), mib * test_memory.MIB)
        assert sent == echoed
        out, _ = proc.communicate(timeout=300)
    return json.loads(out.splitlines()[-1])


def main(sizes):
    pypy = sys.implementation.name == "pypy"
    settings = SETTINGS if pypy else {"": {}}
    print(f"{sys.implementation.name} {sys.version.split()[0]}, peak RSS growth (MiB)")
    print("| GC settings | nursery | sent | protected | most queued | GC peak | unprotected |")
    print("|---|---|---|---|---|---|---|")
    for name, env in settings.items():
        for mib in sizes:
            protected = measure("protected", mib, env)
            unprotected = measure("unprotected", mib, env)
            print(
                f"| {name} {' '.join(f'{k}={v}' for k, v in env.items())} | {protected['nursery']} "
                f"| {mib} MiB | {protected['growth_kib'] / 1024:.1f} "
                f"| {protected['most_queued'] / 2**20:.2f} MiB | {protected.get('gc_peak')} "
                f"| {unprotected['growth_kib'] / 1024:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [32, 128])
