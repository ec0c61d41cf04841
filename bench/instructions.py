"""Instructions per message, counted by callgrind: the per-message costs that hold from machine to machine.

    python bench/instructions.py              # every case, on this interpreter
    python bench/instructions.py --json out.json

Wall-clock rates on a shared machine swing from run to run; the number of
instructions a piece of code executes does not.  Each case runs twice in a
child process under ``valgrind --tool=callgrind``: once on the first half of
its input, once on all of it.  Start-up, imports and warm-up are the same in
both runs, so the difference, divided by the messages of the second half, is
the cost of one message.  Hash randomisation is off (PYTHONHASHSEED=0), so a
case gives the same count run after run (on a free-threaded build, to a
few parts in a million).

Cases (the framing rows of bench_framing.py, with the documentation-style handler):
- framing of 16-byte and 200-byte lines arriving in 64 KiB recvs, on the
  compiled engine, the pure one, the reference and the floor (the same bound
  callbacks driven by bytes.split, below which no engine can go);
- push() of 32 bytes when no input waits, sent at once to a peer that takes
  everything (a fake socket whose send() returns the length);
- the pipelined line echo of bench/e2e.py (bursts of 300 16-byte lines, each
  pushed back, the replies gathered into one send()), beside the same echo
  written as an asyncio Protocol (bench/e2e.py's) writing to a transport that
  takes everything: the per-line cost of the pipelined-echo row, without the
  system calls.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
KIB = 1024
# Messages in the second half of each case: enough that a count is exact to
# well under one instruction per message, few enough for callgrind (~50x slower).
MESSAGES = {
    "16B-lines/64KiB-recv": 32768,
    "200B-lines/64KiB-recv": 8192,
    "push-32B": 20000,
    "echo-16B/300-line-recv": 30000,
}
# The implementations each case runs on, beside those of this package present here.
IMPLEMENTATIONS = {
    "lines": ["cython", "python", "reference", "floor"],
    "push": ["cython", "python", "reference"],
    "echo": ["cython", "python", "reference", "asyncio-protocol"],
}
ECHO_BURST = 300  # lines per recv, as bench/echo_client.py keeps in flight per connection


def _kind(case):
    return case.split("-", 1)[0] if case.startswith(("push", "echo")) else "lines"


def cases(available):
    """(case, implementation) pairs for the implementations present on this interpreter."""
    found = []
    for case in MESSAGES:
        found += [
            (case, name)
            for name in IMPLEMENTATIONS[_kind(case)]
            if name in ("floor", "asyncio-protocol") or name in available
        ]
    return found


# ---- the child: one case, on half or all of its input ----------------------------------------


def _framing(case, implementation, half):
    import implementations
    from framing_workloads import floor, frame, framing_channel, lines

    line_size = int(case.split("B-", 1)[0])
    messages = MESSAGES[case]
    # Whole recvs in each half: the halves frame alike (to a line that straddles them).
    recvs = -(-messages * line_size // (64 * KIB))
    workload = lines(case, line_size, 64 * KIB, total=2 * recvs * 64 * KIB)
    assert len(workload.chunks) == 2 * recvs, len(workload.chunks)
    if half:
        workload.chunks = workload.chunks[:recvs]
    engine = implementation if implementation in ("cython", "python") else "python"
    base = implementations.base_class("reference" if implementation == "reference" else engine)
    with implementations.engine_for(engine if implementation != "reference" else "reference"):
        run = floor if implementation == "floor" else frame
        return run(framing_channel(base, workload), workload)


def _pushes(case, implementation, half):
    import implementations

    count = MESSAGES[case] * (1 if half else 2)
    base = implementations.base_class(implementation)

    class Taker(base):
        def __init__(self):
            base.__init__(self)
            self.connected = True
            self.sent = 0

        def send(self, data):
            self.sent += len(data)
            return len(data)

    with implementations.engine_for(implementation):
        chan = Taker()
        push = chan.push
        piece = b"%031d\n" % 0
        for _ in range(count):
            push(piece)
        chan.del_channel()
    assert chan.sent == 32 * count
    return count


def _echo(case, implementation, half):
    """The pipelined line echo of bench/e2e.py, fed bursts of 16-byte lines, its output taken whole."""
    import implementations
    from e2e import line_echo_class

    bursts = 2 * (-(-MESSAGES[case] // ECHO_BURST))
    burst = b"".join(b"%015d\n" % i for i in range(ECHO_BURST))
    chunks = [burst] * (bursts // 2 if half else bursts)
    if implementation == "asyncio-protocol":
        return _asyncio_echo(chunks)
    base = implementations.base_class(implementation)

    class Echo(line_echo_class(base, "documented")):
        def __init__(self):
            super().__init__(None, {})
            self.connected = True
            self.chunks = iter(chunks)
            self.sent = 0

        def recv(self, size):
            return next(self.chunks)

        def send(self, data):
            self.sent += len(data)
            return len(data)

    with implementations.engine_for(implementation):
        chan = Echo()
        for _ in chunks:
            chan.handle_read()
        chan.del_channel()
    assert chan.sent == len(burst) * len(chunks)
    return ECHO_BURST * len(chunks)


def _asyncio_echo(chunks):
    """The same echo as bench/e2e.py's asyncio Protocol, writing to a transport that takes everything."""
    import asyncio

    from e2e import LineCuttingEcho

    class Transport(asyncio.Transport):
        written = 0

        def write(self, data):
            self.written += len(data)

    transport = Transport()
    protocol = LineCuttingEcho()
    protocol.connection_made(transport)
    for chunk in chunks:
        protocol.data_received(chunk)
    assert transport.written == sum(map(len, chunks))
    return ECHO_BURST * len(chunks)


def child(case, implementation, half):
    sys.path.insert(0, HERE)
    sys.path.insert(0, os.path.join(HERE, "..", "tests"))
    run = {"lines": _framing, "push": _pushes, "echo": _echo}[_kind(case)]
    print(run(case, implementation, half))


# ---- the parent: callgrind runs and the table --------------------------------------------------


def _count(case, implementation, half, python):
    """Instructions executed by one child run (callgrind's total of Ir)."""
    with tempfile.TemporaryDirectory() as scratch:
        command = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={scratch}/out",
            python,
            os.path.abspath(__file__),
            "--child",
            case,
            implementation,
            "half" if half else "all",
        ]
        env = dict(os.environ, PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1", ASYNCHAT_BENCH_SCALE="1")
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1800)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
        collected = re.search(r"Collected : (\d+)", done.stderr)
        return int(collected.group(1)), int(done.stdout.split()[-1])


def per_message(case, implementation, python=sys.executable):
    """Instructions per message for one case: the second half's count over its messages."""
    first, messages_first = _count(case, implementation, True, python)
    both, messages_both = _count(case, implementation, False, python)
    return (both - first) / (messages_both - messages_first)


def available_implementations():
    sys.path.insert(0, HERE)
    sys.path.insert(0, os.path.join(HERE, "..", "tests"))
    import implementations

    return implementations.available()


def measure(progress=print):
    """{case: {implementation: instructions per message}}."""
    table = {}
    for case, implementation in cases(available_implementations()):
        count = per_message(case, implementation)
        table.setdefault(case, {})[implementation] = count
        progress(f"  {case:24} {implementation:10} {count:9,.0f} instructions/message")
    return table


def render(table):
    """A Markdown table: instructions per message, each as a multiple of the row's baseline.

    The baseline is the floor (framing), the asyncio Protocol (echo) or the reference (push).
    """
    names = [
        n
        for n in ["cython", "python", "reference", "floor", "asyncio-protocol"]
        if any(n in row for row in table.values())
    ]
    labels = {"cython": "compiled", "python": "pure Python"}
    out = ["| case | " + " | ".join(labels.get(n, n) for n in names) + " |", "|---|" + "---|" * len(names)]
    for case, row in table.items():
        base = row.get("floor") or row.get("asyncio-protocol") or row.get("reference")
        cells = []
        for name in names:
            if name not in row:
                cells.append("")
            elif row[name] is base:
                cells.append(f"{row[name]:,.0f}")
            else:
                cells.append(f"{row[name]:,.0f} ({row[name] / base:.2f}x)")
        out.append(f"| {case} | " + " | ".join(cells) + " |")
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", help="also write the counts to this file")
    parser.add_argument("--child", nargs=3, metavar=("CASE", "IMPLEMENTATION", "PART"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        case, implementation, part = args.child
        child(case, implementation, part == "half")
        return
    if shutil.which("valgrind") is None:
        sys.exit("instruction counts need valgrind (apt-get install valgrind)")
    table = measure()
    print("\n".join(render(table)))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(table, f, indent=1)


if __name__ == "__main__":
    main()
