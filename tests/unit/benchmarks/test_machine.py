"""Every benchmark report names its machine with a Python speed reference: the same CPU name
covers machines of different speeds, and only runs with like references compare."""

from benchmarks.machine import machine, python_speed


def test_the_machine_line_names_cpus_memory_and_a_python_speed() -> None:
    line = machine()
    assert "CPUs (" in line and "GiB RAM" in line
    reference = line.rsplit("Python speed reference ", 1)[1]
    assert reference.endswith(" M loop steps/s") and float(reference.split()[0]) > 0


def test_a_report_reads_the_reference_taken_before_the_run_started() -> None:
    # Each benchmark takes the reference first, on a quiet machine; the report written at the
    # end, with the stack perhaps still busy, must not measure again.
    taken = python_speed()
    assert machine().endswith(f"Python speed reference {taken:.1f} M loop steps/s")
