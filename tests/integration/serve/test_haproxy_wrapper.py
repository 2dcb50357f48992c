"""The HAProxy wrapper (serve/haproxy.py) ends with the process that started it, however that
process dies: a SIGKILLed HAProxyManager must not leave HAProxy holding the ports."""

import os
import select
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from serve.haproxy import Hardening, install_wrapper

# Starts the wrapper as its child, reports the child's pid once it has become the wrapped
# binary (past the wrapper's own setup), then waits to be killed.
PARENT = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.argv[1], "300"])
while not os.readlink(f"/proc/{child.pid}/exe").endswith("sleep"):
    time.sleep(0.01)
print(child.pid, flush=True)
time.sleep(300)
"""


def test_the_wrapped_binary_dies_with_its_parent(tmp_path: Path) -> None:
    hardening = Hardening("127.0.0.1", 10, 60, 120, 30, 100, "operator", str(tmp_path / "e"))
    wrapper = install_wrapper(tmp_path, shutil.which("sleep") or "/bin/sleep", hardening)
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(wrapper)], stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    exited, readable = os.pidfd_open(child), []
    try:
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        readable, _, _ = select.select([exited], [], [], 10)
        assert readable, "the wrapped binary outlived its parent"
    finally:
        os.close(exited)
        if not readable:
            os.kill(child, signal.SIGKILL)
