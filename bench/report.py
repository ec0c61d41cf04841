"""Run the benchmark suites and print a comparison of the implementations.

    python bench/report.py                 # every suite (about 3.5 minutes)
    python bench/report.py -k framing      # a subset (a pytest -k expression)
    python bench/report.py --counts-only   # only the instruction counts (about 2 minutes)

pytest-benchmark measures each case, printing a line per case as it goes.  The
raw numbers are saved in bench/results/latest.json; the comparison is printed
and written to bench/results/report.md, with a chart in bench/results/report.png
when matplotlib is installed.  Then, where valgrind is installed and no -k is
given, bench/instructions.py counts the instructions per message of the
framing, push and echo cases (bench/results/instructions.json): unlike the
rates, those counts hold from run to run (within half a percent).

Each cell is a rate (the median round) and, in brackets, how many times
CPython's own module ("reference") that is.  "compiled" and "pure Python" are
this package on its two engines.  "floor" is the same callbacks with the
messages cut by bytes.split and no framing logic; "raw-echo" is a server that
echoes bytes without framing: the load client's own ceiling.  Rows without a
suffix use a documentation-style handler (its own collect_incoming_data());
", _collect_incoming_data" rows keep the base class's.
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")
ORDER = [
    "cython",
    "python",
    "reference",
    "floor",
    "asyncio-protocol",
    "uvloop-protocol",
    "twisted-lineonly",
    "asyncio-streams",
    "raw-echo",
    "asynchat-loop",
    "asyncio-map",
    "uvloop-map",
    "asyncio-chat-protocol",
    "uvloop-chat-protocol",
    "asyncore-poll",
    "1-process",
    "2-process",
    "1-thread",
    "2-thread",
]
# How the report and README name the implementations; the rest by their own names.
LABELS = {
    "cython": "compiled",
    "python": "pure Python",
    "asynchat-loop": "asynchat.loop()",
    "asyncore-poll": "asyncore.loop(use_poll=True)",
    "asyncio-map": "serve_asyncio() on asyncio",
    "uvloop-map": "serve_asyncio() on uvloop",
    "asyncio-chat-protocol": "ChatProtocol on asyncio",
    "uvloop-chat-protocol": "ChatProtocol on uvloop",
}
UNITS = {"msg": (1e6, "M msg/s"), "line": (1e6, "M lines/s"), "push": (1e6, "M pushes/s"), "byte": (1e9, "GB/s")}


def run_suites(json_path, select):
    command = [
        sys.executable,
        "-m",
        "pytest",
        HERE,
        "-v",
        "-p",
        "no:cacheprovider",
        "--benchmark-only",
        f"--benchmark-json={json_path}",
        "--benchmark-columns=median,rounds",
    ]
    if select:
        command += ["-k", select]
    print("running:", " ".join(command), flush=True)
    subprocess.run(command, check=True, cwd=HERE)


def collect(benchmarks):
    """{workload: {implementation: (rate, extra_info)}} from pytest-benchmark's JSON, in run order."""
    table = defaultdict(dict)
    for bench in benchmarks:
        info = bench["extra_info"]
        table[info["workload"]][info["implementation"]] = (info["count"] / bench["stats"]["median"], info)
    return table


def columns(table):
    present = {name for rates in table.values() for name in rates}
    return [name for name in ORDER if name in present] + sorted(present - set(ORDER))


# Each table's rows share a baseline, named in brackets; the event-loop and prefork rows have their own.
BASELINES = {
    "reference": "CPython's own asynchat (reference)",
    "asyncore-poll": "asyncore.loop(use_poll=True), same engine and load",
    "asynchat-loop": "asynchat.loop(), the same channels on the same engine (the asyncio drivers)",
    "1-process": "the same server with one worker process (threads: one process, a loop per thread)",
}


def baseline_of(rates):
    return next(iter(rates.values()))[1].get("baseline", "reference")


def render(table, machine):
    out = [
        "# asynchat benchmark report",
        "",
        f"{machine}",
        "",
        "Rates are medians; in brackets, the speed relative to each table's baseline.",
    ]
    for baseline, title in BASELINES.items():
        group = {w: rates for w, rates in table.items() if baseline_of(rates) == baseline}
        if group:
            out += ["", f"## Against {title}", "", *render_table(group, baseline)]
    return "\n".join(out) + "\n"


def render_table(table, baseline):
    names = columns(table)
    header = ["workload", "unit"] + [LABELS.get(n, n) for n in names]
    rows, notes = [], []
    for workload, rates in table.items():
        unit = next(iter(rates.values()))[1]["unit"]
        scale, label = UNITS[unit]
        reference = rates.get(baseline, (None,))[0]
        row = [workload, label]
        for name in names:
            if name not in rates:
                row.append("")
                continue
            rate = rates[name][0]
            cell = f"{rate / scale:.2f}"
            if reference and name != baseline:
                cell += f" ({rate / reference:.1f}x)"
            row.append(cell)
        rows.append(row)
        if "cython" in rates and "floor" in rates:
            notes.append(f"- {workload}: compiled takes {rates['floor'][0] / rates['cython'][0]:.2f}x the floor's time")
        for name, (rate, info) in rates.items():
            alone = next((r[name][0] for r in table.values() if name in r and r[name][1].get("idle") == 0), None)
            if info.get("idle") and alone:
                notes.append(
                    f"- {workload}: {LABELS.get(name, name)} keeps {rate / alone:.2f}x "
                    "of its rate with no idle connections"
                )
        sends = {LABELS.get(n, n): r[1]["sends"] for n, r in rates.items() if "sends" in r[1]}
        if sends:
            notes.append(f"- {workload}: send() calls: " + ", ".join(f"{n} {s:,}" for n, s in sends.items()))
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]

    def line(cells):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"

    out = [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in rows]
    if notes:
        out += ["", *notes]
    return out


def chart(table, path):
    """Speed relative to the reference, per workload and implementation (log scale), values on the bars."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in columns(table) if n not in ("reference", "floor")]
    workloads = [w for w, rates in table.items() if baseline_of(rates) == "reference" and "reference" in rates]
    if not workloads:
        return None
    colours = dict(zip(names, plt.rcParams["axes.prop_cycle"].by_key()["color"] * 2))
    # One bar per implementation measured on a workload, groups stacked top-down.
    bars, ticks, y = [], [], 0.0
    for workload in workloads:
        present = [n for n in names if n in table[workload]]
        ticks.append(y + (len(present) - 1) / 2)
        for name in present:
            bars.append((y, table[workload][name][0] / table[workload]["reference"][0], name))
            y += 1
        y += 0.8
    fig, ax = plt.subplots(figsize=(10, 0.22 * y + 1.6))
    labelled = set()
    for at, ratio, name in bars:
        label = None if name in labelled else LABELS.get(name, name)
        labelled.add(name)
        drawn = ax.barh([at], [ratio], height=0.85, color=colours[name], label=label)
        ax.bar_label(drawn, labels=[f"{ratio:.1f}x"], padding=2, fontsize=7)
    ax.set_yticks(ticks, workloads, fontsize=8)
    ax.set_ylim(y + 0.5, -1.5)
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=1)
    ax.text(1.0, -1.0, " 1x = CPython's asynchat", fontsize=8, va="center")
    ax.set_xlabel("speed relative to CPython's own asynchat, log scale: longer bars are faster")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(f"asynchat on {platform.python_implementation()} {platform.python_version()}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def counts_section():
    """The instruction counts of bench/instructions.py, as a report section (a note where valgrind is missing)."""
    title = (
        "\n## Instructions per message (callgrind; in brackets, the multiple of the floor for framing,"
        " of the asyncio Protocol for the echo, of the reference for push)\n\n"
    )
    if sys.implementation.name != "cpython":
        # A JIT compiles each run's loops its own way: the two runs' difference is no per-message cost.
        return title + f"Not counted on {sys.implementation.name}: only an interpreter's counts compare.\n"
    if shutil.which("valgrind") is None:
        return title + "Not counted: valgrind is not installed (apt-get install valgrind).\n"
    import instructions

    print("counting instructions per message under callgrind:", flush=True)
    counts = instructions.measure(progress=lambda line: print(line, flush=True))
    with open(os.path.join(RESULTS, "instructions.json"), "w") as f:
        json.dump(counts, f, indent=1)
    return title + "\n".join(instructions.render(counts)) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-k", dest="select", help="only the benchmarks matching this pytest -k expression")
    parser.add_argument("--counts-only", action="store_true", help="only count instructions (needs valgrind)")
    args = parser.parse_args(argv)
    os.makedirs(RESULTS, exist_ok=True)
    machine = (
        f"{platform.python_implementation()} {platform.python_version()} on "
        f"{platform.machine()}, {os.cpu_count()} cores"
    )
    report = f"# asynchat benchmark report\n\n{machine}\n"
    json_path = os.path.join(RESULTS, "latest.json")
    table = {}
    if not args.counts_only:
        run_suites(json_path, args.select)
        with open(json_path) as f:
            table = collect(json.load(f)["benchmarks"])
        report = render(table, machine)
    if args.counts_only or not args.select:
        report += counts_section()
    with open(os.path.join(RESULTS, "report.md"), "w") as f:
        f.write(report)
    print()
    print(report)
    picture = chart(table, os.path.join(RESULTS, "report.png")) if table else None
    if table:
        print(f"raw numbers: {json_path}")
    print(f"this table:  {os.path.join(RESULTS, 'report.md')}")
    if picture:
        print(f"chart:       {picture}")
    else:
        print("chart:       skipped (pip install matplotlib)")


if __name__ == "__main__":
    main()
