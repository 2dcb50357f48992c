"""The HAProxy wrapper (serve/haproxy.py) ends with the process that started it, however that
process dies: a SIGKILLed HAProxyManager must not leave HAProxy holding the ports. And it wraps
the real binary, never an earlier start's wrapper."""

import os
import select
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from core.settings import Settings
from serve.haproxy import install_wrapper, is_wrapper
from serve.runtime import HAPROXY_BINARY_ENV, haproxy_binary, hardening

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
    wrapper = install_wrapper(
        tmp_path, shutil.which("sleep") or "/bin/sleep", hardening(Settings(), tmp_path)
    )
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


def test_a_second_start_in_one_process_wraps_the_real_binary_not_the_wrapper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A start leaves its wrapper in RAY_SERVE_HAPROXY_BINARY_PATH, where the next start in the
    same process (a benchmark's second stack) looks for the binary first."""
    monkeypatch.delenv(HAPROXY_BINARY_ENV, raising=False)
    real = haproxy_binary()
    assert real is not None and not is_wrapper(Path(real))
    wrapper = install_wrapper(tmp_path, real, hardening(Settings(), tmp_path))
    monkeypatch.setenv(HAPROXY_BINARY_ENV, str(wrapper))
    assert is_wrapper(wrapper)
    assert haproxy_binary() == real
