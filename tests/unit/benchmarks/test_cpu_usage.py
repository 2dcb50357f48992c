"""The reports' shares of the machine: busy and stolen CPU over all cores of the block."""

from benchmarks.cpu import CpuUsage, cpu_usage


def test_the_shares_are_of_all_cores_over_the_block() -> None:
    usage = CpuUsage(seconds=10.0, busy_seconds=15.0, steal_seconds=2.0, cores=2)
    assert usage.busy_share == 0.75
    assert usage.steal_share == 0.1


def test_a_block_measures_the_machines_steal() -> None:
    with cpu_usage(children="children") as usage:
        sum(range(100_000))
    assert usage.seconds > 0
    assert 0.0 <= usage.steal_share <= 1.0
