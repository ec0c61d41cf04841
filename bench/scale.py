"""ASYNCHAT_BENCH_SCALE shrinks every workload (tests/run.sh runs the benchmarks once at 0.02)."""

import os

SCALE = float(os.environ.get("ASYNCHAT_BENCH_SCALE", "1"))


def scaled(n, minimum=1):
    return max(minimum, int(n * SCALE))
