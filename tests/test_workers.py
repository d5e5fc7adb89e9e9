"""
Several worker processes sharing the listeners: C{twistd mailfront
--workers N}.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import time
import urllib.error
import urllib.request

from twisted.internet.protocol import Factory
from twisted.internet.testing import MemoryReactor
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from bench.mailfront import startMailfront
from bench.servers import ServerProcess, freePort
from mailfront.tap import Options
from mailfront.workers import InvalidWorkerListener, reusePortEndpoint, workerLogFile

from .running import EXAMPLE_CONFIG

#: Seconds the tests wait for workers to start or stop.
WAIT_SECONDS = 30.0


class WorkerOptionsTests(SynchronousTestCase):
    """
    The C{--workers} option of C{twistd mailfront}.
    """

    def parse(self, *arguments: str) -> Options:
        options = Options()
        options.parseOptions(["--config", EXAMPLE_CONFIG, *arguments])
        return options

    def test_workersPassedOn(self) -> None:
        """
        C{--workers 2} reaches the service configuration, with the options
        that the other workers are started with.
        """
        arguments = ("--http", "tcp:8080:interface=127.0.0.1", "--workers", "2")
        config = self.parse(*arguments).serviceConfig()
        self.assertEqual(config.workers, 2)
        self.assertEqual(config.workerIndex, 0)
        self.assertEqual(tuple(config.workerArguments), ("--config", EXAMPLE_CONFIG, *arguments))

    def test_zeroWorkersRejected(self) -> None:
        """
        C{--workers 0} is a usage error.
        """
        error = self.assertRaises(usage.UsageError, self.parse, "--workers", "0")
        self.assertIn("--workers must be 1 or more", str(error))

    def test_unixListenerRejected(self) -> None:
        """
        With more than one worker, a listener that is not C{tcp:} is a usage
        error that names the kinds to write.
        """
        error = self.assertRaises(
            usage.UsageError, self.parse, "--http", "unix:/tmp/mailfront.sock", "--workers", "2"
        )
        self.assertIn("write tcp: or tcp6: listeners", str(error))

    def test_acmeRejected(self) -> None:
        """
        ACME with more than one worker is a usage error, because the answers
        to its challenges are kept in one process.
        """
        error = self.assertRaises(
            usage.UsageError,
            self.parse,
            "--http", "tcp:8080:interface=127.0.0.1",
            "--acme-directory", "https://127.0.0.1:14000/dir",
            "--workers", "2",
        )
        self.assertIn("--acme-directory needs --workers 1", str(error))

    def test_otherWorkersLeaveAdminAndWatch(self) -> None:
        """
        A worker other than worker 0 runs no admin listener and does not
        watch the configuration directory.
        """
        config = self.parse(
            "--http", "tcp:8080:interface=127.0.0.1", "--workers", "2", "--worker-index", "1"
        ).serviceConfig()
        self.assertIsNone(config.admin)
        self.assertEqual(config.watch, "off")
        self.assertEqual(config.workerIndex, 1)

    def test_oneWorkerAcceptsAnyListener(self) -> None:
        """
        With one worker, any endpoint description is accepted as before.
        """
        options = self.parse("--http", "unix:/tmp/mailfront.sock")
        self.assertEqual(options.serviceConfig().workers, 1)


class WorkerLogFileTests(SynchronousTestCase):
    """
    L{workerLogFile} puts each worker's log beside worker 0's.
    """

    def test_table(self) -> None:
        """
        A log file gets a C{-workerN} suffix before its extension; standard
        output stays standard output.
        """
        cases = [
            (None, 1, "-"),
            ("-", 2, "-"),
            ("/var/log/mailfront.log", 1, "/var/log/mailfront-worker1.log"),
            ("twistd.log", 3, "twistd-worker3.log"),
            ("/var/log/mailfront", 2, "/var/log/mailfront-worker2"),
        ]
        for logFile, index, expected in cases:
            self.assertEqual(workerLogFile(logFile, index), expected, (logFile, index))


class ReusePortEndpointTests(SynchronousTestCase):
    """
    L{reusePortEndpoint} opens listeners that several processes can share.
    """

    def test_parse(self) -> None:
        """
        C{tcp:} and C{tcp6:} descriptions give the family, port, interface
        and backlog.
        """
        endpoint = reusePortEndpoint(None, "tcp:8080:interface=127.0.0.1:backlog=7")
        self.assertEqual(
            (endpoint.family, endpoint.port, endpoint.interface, endpoint.backlog),
            (socket.AF_INET, 8080, "127.0.0.1", 7),
        )
        endpoint = reusePortEndpoint(None, "tcp6:8443:interface=\\:\\:1")
        self.assertEqual((endpoint.family, endpoint.interface), (socket.AF_INET6, "::1"))

    def test_otherKindsRejected(self) -> None:
        """
        Descriptions of other endpoint kinds raise L{InvalidWorkerListener}.
        """
        for description in ("unix:/tmp/x.sock", "ssl:443:privateKey=key.pem"):
            self.assertRaises(InvalidWorkerListener, reusePortEndpoint, None, description)

    def test_twoListenersOnOnePort(self) -> None:
        """
        Two endpoints listen on the same address and port at once, which a
        plain TCP listener refuses with "address already in use".
        """
        reactor = MemoryReactor()
        port = freePort()
        description = f"tcp:{port}:interface=127.0.0.1"
        first = reusePortEndpoint(reactor, description).listen(Factory())
        second = reusePortEndpoint(reactor, description).listen(Factory())
        self.successResultOf(first)
        self.successResultOf(second)
        self.assertEqual(
            [family for _, family, _ in reactor.adoptedPorts], [socket.AF_INET, socket.AF_INET]
        )


def _waitFor(condition, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {WAIT_SECONDS:g} s waiting for {what}")


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as e:
        return e.code


def _read(path: str) -> str:
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


class WorkersEndToEndTests(SynchronousTestCase):
    """
    The real C{twistd mailfront --workers 2} on 127.0.0.1.
    """

    def setUp(self) -> None:
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        self.logPath = os.path.join(directory, "mailfront.log")
        self.config = os.path.join(directory, "config")
        shutil.copytree(EXAMPLE_CONFIG, self.config)
        self.server: ServerProcess = startMailfront(self.config, self.logPath, None, workers=2)
        self.addCleanup(self.server.stop)
        _waitFor(lambda: "Worker 1 of 2 is serving" in self.server.log(), "worker 1")
        match = re.search(r"Worker 1 of 2 is serving, pid (\d+)", self.server.log())
        assert match is not None
        self.workerPID = int(match.group(1))
        self.addCleanup(self._killWorker)

    def _killWorker(self) -> None:
        if _alive(self.workerPID):
            os.kill(self.workerPID, signal.SIGKILL)

    def test_bothWorkersAnswer(self) -> None:
        """
        Requests on new connections reach both processes, so each worker's
        access log has lines.
        """
        url = (
            f"http://127.0.0.1:{self.server.port}/mail/config-v1.1.xml"
            "?emailaddress=fred%40example.com"
        )
        for _ in range(60):
            with urllib.request.urlopen(url, timeout=10) as response:
                self.assertEqual(response.status, 200)
        workerLog = self.logPath.replace(".log", "-worker1.log")
        _waitFor(lambda: "mailfront.access" in _read(workerLog), "worker 1's access log")
        self.assertIn("mailfront.access", self.server.log())

    def test_reloadReachesEveryWorker(self) -> None:
        """
        After SIGHUP to worker 0, a domain added to the configuration is
        served on every connection, so the other worker reloaded too.
        """
        url = (
            f"http://127.0.0.1:{self.server.port}/mail/config-v1.1.xml"
            "?emailaddress=fred%40added.example"
        )
        with open(os.path.join(self.config, "added.toml"), "w", encoding="utf-8") as f:
            f.write('[domains."added.example"]\nprovider = "example-hosting"\n')
        os.kill(self.server.pid, signal.SIGHUP)
        _waitFor(
            lambda: all(_status(url) == 200 for _ in range(60)),
            "60 requests on new connections to find the added domain",
        )

    def test_workerStopsWithWorkerZero(self) -> None:
        """
        Stopping worker 0 with SIGTERM stops the other worker too.
        """
        self.server.stop()
        _waitFor(lambda: not _alive(self.workerPID), "worker 1 to stop")

    def test_workerStopsWhenWorkerZeroIsKilled(self) -> None:
        """
        A worker whose worker 0 is killed with SIGKILL stops by itself.
        """
        os.kill(self.server.pid, signal.SIGKILL)
        self.server.process.wait()
        _waitFor(lambda: not _alive(self.workerPID), "worker 1 to stop")
