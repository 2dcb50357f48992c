"""Every benchmark report names its machine with a Python speed reference: the same CPU name
covers machines of different speeds, and only runs with like references compare."""

from benchmarks.machine import machine


def test_the_machine_line_names_cpus_memory_and_a_python_speed() -> None:
    line = machine()
    assert "CPUs (" in line and "GiB RAM" in line
    reference = line.rsplit("Python speed reference ", 1)[1]
    assert reference.endswith(" M loop steps/s") and float(reference.split()[0]) > 0
