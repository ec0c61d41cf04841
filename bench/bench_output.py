"""Output throughput: pushes inside a callback, sent to a peer that reads."""

import implementations
import pytest
from output_workloads import drain_to_socketpair, drain_to_taker, many_small_pushes, one_large_push

RESPONSES = [many_small_pushes(), one_large_push()]


@pytest.mark.parametrize("response", RESPONSES, ids=[r.name for r in RESPONSES])
@pytest.mark.parametrize("implementation", implementations.available())
def test_output_to_a_taker(benchmark, implementation, response):
    with implementations.engine_for(implementation):
        base = implementations.base_class(implementation)
        sends = drain_to_taker(base, response)
        benchmark.group = f"output {response.name}"
        benchmark.extra_info.update(
            workload=response.name,
            implementation=implementation,
            sends=sends,
            unit=response.unit,
            count=response.count,
        )
        assert benchmark.pedantic(drain_to_taker, args=(base, response), rounds=3, iterations=1) == sends


@pytest.mark.parametrize("response", RESPONSES, ids=[r.name for r in RESPONSES])
@pytest.mark.parametrize("implementation", implementations.available())
def test_output_over_a_socketpair(benchmark, implementation, response):
    with implementations.engine_for(implementation):
        base = implementations.base_class(implementation)
        benchmark.group = f"output {response.name} socketpair"
        benchmark.extra_info.update(
            workload=f"{response.name}/socketpair",
            implementation=implementation,
            unit=response.unit,
            count=response.count,
        )
        received = benchmark.pedantic(drain_to_socketpair, args=(base, response), rounds=3, iterations=1)
        assert received == response.size
