"""A Redis of the test session's own: `redis-server` as a child process on a free port, keeping
nothing on disk. The fault suite restarts it (SIGKILL, then the same command on the same port),
which it cannot do to the machine's Redis: other processes share that one."""

import os
import shutil
import signal
import subprocess
import time

import redis

START_SECONDS = 10.0


class RedisChild:
    def __init__(self, binary: str, port: int) -> None:
        self.binary, self.port = binary, port
        self.process: subprocess.Popen[bytes] | None = None

    @classmethod
    def installed(cls, port: int) -> "RedisChild | None":
        binary = shutil.which("redis-server")
        return None if binary is None else cls(binary, port)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        argv = [self.binary, "--bind", "127.0.0.1", "--port", str(self.port)]
        argv += ["--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + START_SECONDS
        try:
            while True:  # polling for the server to answer, with a deadline
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    if time.monotonic() > deadline or self.process.poll() is not None:
                        raise
                    time.sleep(0.02)
        finally:
            client.close()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def restart(self) -> None:
        """What a Redis without persistence does when it crashes and comes back: empty."""
        self.kill()
        self.start()
