"""
Start the real C{twistd -n mailfront} as a child process on 127.0.0.1, for
end-to-end tests.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from typing import Optional, Sequence

import attrs
from twisted.trial.unittest import TestCase

__all__ = [
    "ROOT",
    "TWISTD",
    "EXAMPLE_CONFIG",
    "RunningService",
    "freePort",
    "startMailfront",
    "stopProcess",
]

#: The repository root, so tests find the example configuration and the
#: plugin however trial was started.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE_CONFIG = os.path.join(ROOT, "examples", "config")

#: The command that runs twistd with this interpreter. The installed
#: C{twistd} script is not used, so the tests run the code of this checkout.
TWISTD = (sys.executable, "-c", "from twisted.scripts.twistd import run; run()")

#: Seconds a child process gets to open its listeners.
START_TIMEOUT = 20.0

#: Runs twistd with this test's Python. C{python -m twisted} would start
#: C{twist}, a different runner without twistd's options.
TWISTD = (sys.executable, "-c", "from twisted.scripts.twistd import run; run()")


def freePort(kind: int = socket.SOCK_STREAM) -> int:
    """
    Find a port on 127.0.0.1 that is free now.
    """
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@attrs.define
class RunningService:
    """
    A mailfront child process and where it listens.

    @ivar certificatePath: The self-signed certificate it generated, to trust
        in HTTPS clients.
    @ivar adminPort: The port of the admin listener (health, readiness,
        metrics, reload); its token is in C{adminTokenPath}.
    """

    process: subprocess.Popen[bytes]
    httpPort: int
    httpsPort: int
    stateDirectory: str
    logPath: str
    adminPort: int

    @property
    def adminTokenPath(self) -> str:
        return os.path.join(self.stateDirectory, "admin-token")

    @property
    def certificatePath(self) -> str:
        return os.path.join(self.stateDirectory, "self-signed.pem")

    def log(self) -> str:
        """
        Read what the process has logged so far.
        """
        with open(self.logPath, encoding="utf-8", errors="replace") as f:
            return f.read()


def stopProcess(process: subprocess.Popen[bytes]) -> None:
    """
    Stop a child process started by a test: terminate it, and kill it if it
    has not exited after 10 seconds.
    """
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _waitForPort(port: int, process: subprocess.Popen[bytes], logPath: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            with open(logPath, encoding="utf-8", errors="replace") as f:
                raise AssertionError(f"mailfront exited with {process.returncode}:\n{f.read()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"mailfront did not listen on port {port} within {START_TIMEOUT} s")


def startMailfront(
    testCase: TestCase,
    config: str = EXAMPLE_CONFIG,
    extraArguments: Sequence[str] = (),
    waitPorts: Sequence[int] = (),
    tac: Optional[str] = None,
    twistdArguments: Sequence[str] = (),
) -> RunningService:
    """
    Start C{twistd -n mailfront} with an HTTP, an HTTPS and an admin
    listener on 127.0.0.1 and wait until they accept connections.

    The process is stopped when the test ends.

    @param extraArguments: More mailfront options, such as DNS listeners.
    @param waitPorts: More TCP ports to wait for.
    @param tac: Run a copy of this C{.tac} file with C{twistd -ny} instead
        of the plugin. The copy has the default endpoints (ports 8080, 8443
        and 8081), configuration directory and state directory of the
        original replaced by this test's.
    @param twistdArguments: Options of twistd itself, such as C{--logger}.
    """
    httpPort, httpsPort, adminPort = freePort(), freePort(), freePort()
    workDirectory = os.path.abspath(testCase.mktemp())
    os.makedirs(workDirectory)
    state = os.path.join(workDirectory, "state")
    logPath = os.path.join(workDirectory, "twistd.log")
    environment = dict(os.environ)
    environment["PYTHONPATH"] = ROOT + os.pathsep + environment.get("PYTHONPATH", "")
    if tac is None:
        command = [
            *TWISTD, "--nodaemon", "--pidfile=",
            *twistdArguments,
            "mailfront",
            "--config", config,
            "--http", f"tcp:{httpPort}:interface=127.0.0.1",
            "--https", f"tcp:{httpsPort}:interface=127.0.0.1",
            "--admin", f"tcp:{adminPort}:interface=127.0.0.1",
            "--state-dir", state,
            *extraArguments,
        ]
    else:
        with open(tac, encoding="utf-8") as f:
            source = f.read()
        for original, replacement in (
            ("tcp:8080:", f"tcp:{httpPort}:"),
            ("tcp:8443:", f"tcp:{httpsPort}:"),
            ("tcp:8081:", f"tcp:{adminPort}:"),
            ('"examples/config"', repr(config)),
            ('"mailfront-state"', repr(state)),
        ):
            if original not in source:
                raise AssertionError(f"{tac} no longer contains {original}")
            source = source.replace(original, replacement)
        copy = os.path.join(workDirectory, "mailfront.tac")
        with open(copy, "w", encoding="utf-8") as f:
            f.write(source)
        command = [
            *TWISTD, "--nodaemon", "--pidfile=", *twistdArguments, "-y", copy,
        ]
    with open(logPath, "wb") as logFile:
        process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=logFile, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    testCase.addCleanup(stopProcess, process)
    for port in (httpPort, httpsPort, adminPort, *waitPorts):
        _waitForPort(port, process, logPath)
    return RunningService(process, httpPort, httpsPort, state, logPath, adminPort)
