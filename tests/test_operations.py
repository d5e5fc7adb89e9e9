"""
Tests for the operations options of C{twistd mailfront} and their wiring:
admin listener, directory watching, SIGHUP.
"""

from __future__ import annotations

import os
import signal
from typing import Any, Callable

import attrs
from twisted.application.service import MultiService
from twisted.internet.testing import MemoryReactorClock
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from mailfront.admin import AdminSite
from mailfront.service import DEFAULT_ADMIN, ServiceConfig, makeMailfrontService
from mailfront.tap import Options, makeService

from .running import EXAMPLE_CONFIG


def parse(*arguments: str) -> Options:
    options = Options()
    options.parseOptions(["--config", EXAMPLE_CONFIG, *arguments])
    return options


class OptionsTests(SynchronousTestCase):
    """
    The admin and watch options of C{twistd mailfront}.
    """

    def test_defaults(self) -> None:
        """
        By default the admin listener is on loopback port 8081, its token
        lives in the state directory, and the directory is watched.
        """
        config = parse().serviceConfig()

        self.assertEqual(config.admin, "tcp:8081:interface=127.0.0.1")
        self.assertEqual(config.admin, DEFAULT_ADMIN)
        self.assertIsNone(config.adminTokenFile)
        self.assertEqual((config.watch, config.pollInterval), ("auto", 2.0))

    def test_choices(self) -> None:
        """
        Each option reaches the service configuration.
        """
        config = parse(
            "--admin",
            r"tcp:9000:interface=\:\:1",
            "--admin-token-file",
            "/etc/mailfront/token",
            "--watch",
            "poll",
            "--poll-interval",
            "0.5",
        ).serviceConfig()

        self.assertEqual(config.admin, r"tcp:9000:interface=\:\:1")
        self.assertEqual(config.adminTokenFile, "/etc/mailfront/token")
        self.assertEqual((config.watch, config.pollInterval), ("poll", 0.5))

    def test_noAdmin(self) -> None:
        """
        C{--no-admin} turns the admin listener off.
        """
        self.assertIsNone(parse("--no-admin").serviceConfig().admin)

    def test_unknownWatchMode(self) -> None:
        """
        An unknown watch mode is a usage error that lists the modes.
        """
        error = self.assertRaises(usage.UsageError, parse, "--watch", "sometimes")

        self.assertEqual(
            str(error), "--watch must be one of auto, inotify, poll, off, not 'sometimes'"
        )

    def test_pollIntervalPositive(self) -> None:
        """
        A poll interval of zero is a usage error.
        """
        error = self.assertRaises(usage.UsageError, parse, "--poll-interval", "0")

        self.assertEqual(
            str(error), "--poll-interval must be a positive number of seconds, not 0.0"
        )

    def test_emptyTokenFile(self) -> None:
        """
        An unusable admin token file stops start-up with a message naming
        the file, and no traceback.
        """
        path = self.mktemp()
        open(path, "w").close()
        options = parse("--admin-token-file", path, "--state-dir", self.mktemp())

        error = self.assertRaises(SystemExit, makeService, options)

        self.assertIn(f"the admin token file {path} is empty", str(error.code))


class ThreadsReactor(MemoryReactorClock):
    """
    A memory reactor that records C{callFromThread} calls.
    """

    def __init__(self) -> None:
        super().__init__()
        self.threadCalls: list[Callable[..., object]] = []

    def callFromThread(self, function: Callable[..., object], *arguments: object) -> None:
        self.threadCalls.append(lambda: function(*arguments))


class WiringTests(SynchronousTestCase):
    """
    L{makeMailfrontService} adds the admin listener and the SIGHUP handler.
    """

    def build(self, **changes: Any) -> tuple[ThreadsReactor, MultiService]:
        reactor = ThreadsReactor()
        config = ServiceConfig(
            configDirectory=EXAMPLE_CONFIG,
            https=(),
            stateDirectory=self.mktemp(),
            admin="tcp:18081:interface=127.0.0.1",
            watch="off",
        )
        config = attrs.evolve(config, **changes)
        return reactor, makeMailfrontService(config, reactor)  # type: ignore[arg-type]

    def test_adminListener(self) -> None:
        """
        The admin Site listens on its own endpoint, and its token file is
        generated in the state directory.
        """
        state = self.mktemp()
        reactor, service = self.build(stateDirectory=state)
        service.privilegedStartService()
        service.startService()
        self.addCleanup(service.stopService)

        admin = [
            (port, interface)
            for port, factory, _, interface in reactor.tcpServers
            if isinstance(factory, AdminSite)
        ]
        self.assertEqual(admin, [(18081, "127.0.0.1")])
        self.assertTrue(os.path.isfile(os.path.join(state, "admin-token")))

    def test_noAdminListener(self) -> None:
        """
        Without an admin endpoint, no admin Site listens and no token file
        is made.
        """
        state = self.mktemp()
        reactor, service = self.build(admin=None, stateDirectory=state)
        service.privilegedStartService()
        service.startService()
        self.addCleanup(service.stopService)

        self.assertFalse([s for s in reactor.tcpServers if isinstance(s[1], AdminSite)])
        self.assertFalse(os.path.exists(os.path.join(state, "admin-token")))

    def test_hangupHandlerInstalled(self) -> None:
        """
        While the service runs, SIGHUP schedules a reload into the reactor;
        when it stops, the previous handler is back.
        """
        previous = signal.getsignal(signal.SIGHUP)
        reactor, service = self.build()
        service.privilegedStartService()
        service.startService()

        handler = signal.getsignal(signal.SIGHUP)
        self.assertNotEqual(handler, previous)
        assert callable(handler)
        handler(signal.SIGHUP, None)
        self.assertEqual(len(reactor.threadCalls), 1)

        service.stopService()
        self.assertEqual(signal.getsignal(signal.SIGHUP), previous)
