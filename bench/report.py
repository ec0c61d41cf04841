"""Run the benchmark suites and print a comparison of the implementations.

    python bench/report.py                 # every suite
    python bench/report.py -k framing      # a subset (a pytest -k expression)

pytest-benchmark measures each case (progress is printed as it goes); the raw
numbers are saved in bench/results/latest.json and the comparison (rates, and
each implementation's speed relative to CPython's own module) is printed and
written to bench/results/report.md.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")
ORDER = ["cython", "python", "reference"]


def run_suites(json_path, select):
    command = [
        sys.executable, "-m", "pytest", HERE, "-v", "-p", "no:cacheprovider",
        "--benchmark-only", f"--benchmark-json={json_path}", "--benchmark-disable-gc",
        "--benchmark-columns=median,rounds",
    ]
    if select:
        command += ["-k", select]
    print("running:", " ".join(command), flush=True)
    subprocess.run(command, check=True, cwd=HERE)


def format_rate(rate, unit):
    if unit == "byte":
        return f"{rate / 1e9:7.2f} GB/s"
    return f"{rate / 1e6:7.2f} M {unit}/s"


def comparison(benchmarks):
    """Rows of (workload, implementation, rate text, ratio to the reference) from pytest-benchmark JSON."""
    by_workload = defaultdict(dict)
    units = {}
    for bench in benchmarks:
        info = bench["extra_info"]
        rate = info["count"] / bench["stats"]["median"]
        by_workload[info["workload"]][info["implementation"]] = rate
        units[info["workload"]] = info["unit"]
    rows = []
    for workload, rates in by_workload.items():
        reference = rates.get("reference")
        for name in sorted(rates, key=lambda n: ORDER.index(n) if n in ORDER else len(ORDER)):
            ratio = f"{rates[name] / reference:5.2f}x" if reference else "   n/a"
            rows.append((workload, name, format_rate(rates[name], units[workload]), ratio))
    return rows


def render(rows, machine):
    header = ("workload", "implementation", "rate (median)", "vs reference")
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    out = [f"asynchat benchmark report — {machine}", "", line(header),
           "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in rows]
    return "\n".join(out) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-k", dest="select", help="only the benchmarks matching this pytest -k expression")
    args = parser.parse_args(argv)
    os.makedirs(RESULTS, exist_ok=True)
    json_path = os.path.join(RESULTS, "latest.json")
    run_suites(json_path, args.select)
    with open(json_path) as f:
        benchmarks = json.load(f)["benchmarks"]
    machine = f"{platform.python_implementation()} {platform.python_version()}, {platform.machine()}"
    table = render(comparison(benchmarks), machine)
    with open(os.path.join(RESULTS, "report.md"), "w") as f:
        f.write(table)
    print()
    print(table)
    print(f"(raw numbers: {json_path}; this table: {os.path.join(RESULTS, 'report.md')})")


if __name__ == "__main__":
    main()
