"""
Starting and stopping the servers under test, each pinned to its CPUs.

Every server listens on 127.0.0.1 only, on a port picked free just before it
starts, and is stopped by its process id when the benchmark ends.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from typing import Mapping, Optional, Sequence

import attrs

from mailfront.workers import TWISTD_FOREGROUND

__all__ = [
    "ROOT",
    "ServerProcess",
    "StartError",
    "freePort",
    "removeLogs",
    "startProcess",
    "twistdCommand",
]

#: The repository root: the twistd plugin and the C{bench} package are
#: imported from here.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: Seconds a server gets to open its listener. Loading a million domains
#: takes about ten of them.
START_TIMEOUT = 120.0


class StartError(RuntimeError):
    """
    A server exited or did not listen in time; the message ends with its log.
    """


def freePort() -> int:
    """
    Find a TCP port on 127.0.0.1 that is free now.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@attrs.define
class ServerProcess:
    """
    A started server.

    @ivar name: The name in the reports, such as C{mailfront}.
    @ivar logPath: File receiving the process's output and log.
    """

    name: str
    process: subprocess.Popen[bytes]
    port: int
    logPath: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        """
        Tell whether the process has not exited yet.
        """
        return self.process.poll() is None

    def log(self) -> str:
        """
        Read what the process has written so far.
        """
        with open(self.logPath, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stop(self) -> None:
        """
        Stop the process with SIGTERM, then SIGKILL after ten seconds.
        """
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def twistdCommand(*arguments: str, logPath: str) -> list[str]:
    """
    Build a C{twistd} command line for the Python running the benchmark,
    the way mailfront starts its workers.
    """
    return [*TWISTD_FOREGROUND, "--logfile", logPath, *arguments]


def _pinned(command: Sequence[str], cpus: Optional[str]) -> list[str]:
    if cpus is None:
        return list(command)
    return ["taskset", "--cpu-list", cpus, *command]


def _waitForPort(server: ServerProcess, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.running():
            raise StartError(
                f"{server.name} exited with {server.process.returncode}:\n{server.log()[-4000:]}"
            )
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    server.stop()
    raise StartError(
        f"{server.name} did not listen on port {server.port} within {timeout:g} s:\n"
        f"{server.log()[-4000:]}"
    )


def removeLogs(logPath: str) -> None:
    """
    Remove a log file left by an earlier run, the files twistd rotated it
    into (C{LOG.1}, C{LOG.2} and so on, one per megabyte), and the logs of
    the other workers beside it.
    """
    directory, name = os.path.split(logPath)
    stem = os.path.splitext(name)[0]
    for candidate in os.listdir(directory or "."):
        base, _, suffix = candidate.rpartition(".")
        if not (base and suffix.isdigit()):
            base = candidate
        if base == name or base.startswith(stem + "-worker"):
            os.remove(os.path.join(directory, candidate))


def startProcess(
    name: str,
    command: Sequence[str],
    port: int,
    logPath: str,
    cpus: Optional[str] = None,
    environment: Optional[Mapping[str, str]] = None,
    timeout: float = START_TIMEOUT,
) -> ServerProcess:
    """
    Start a server and wait until it accepts connections on C{port}.

    @param cpus: A C{taskset} CPU list such as C{"1"}, or C{None} to leave
        the process unpinned.
    @param environment: Variables added to this process's environment.
    @raise StartError: If it exits or does not listen within C{timeout}.
    """
    removeLogs(logPath)
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env.update(environment or {})
    with open(logPath, "ab") as logFile:
        process = subprocess.Popen(
            _pinned(command, cpus),
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=logFile,
            stderr=subprocess.STDOUT,
        )
    server = ServerProcess(name, process, port, logPath)
    _waitForPort(server, timeout)
    return server
