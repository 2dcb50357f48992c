"""The events actor runs niced (actors/priority.py)."""

import subprocess
import sys

# Nices itself with threads already running, then starts one more, and prints every
# thread's nice level.
PROGRAM = """
import os, threading
from actors.priority import run_in_background
stop = threading.Event()
early = threading.Thread(target=stop.wait); early.start()
run_in_background(7)
late = threading.Thread(target=stop.wait); late.start()
print(sorted({os.getpriority(os.PRIO_PROCESS, int(t)) for t in os.listdir("/proc/self/task")}))
stop.set()
"""


def test_every_thread_is_niced_and_new_ones_inherit_it() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[7]"
