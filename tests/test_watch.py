"""
Tests for L{mailfront.watch}: changes in the configuration directory lead
to one reload per burst.
"""

from __future__ import annotations

import os

from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.logger import LogLevel, formatEvent
from twisted.python.filepath import FilePath
from twisted.python.runtime import platform
from twisted.trial.unittest import SynchronousTestCase, TestCase

from mailfront.watch import (
    SETTLE_SECONDS,
    ChangeBatcher,
    INotifyWatcher,
    PollingWatcher,
    directoryFingerprint,
    isConfigName,
    makeWatcher,
)

from .logcapture import captureEvents
from .versioned import validVersion, writeConfig


class ChangeBatcherTests(SynchronousTestCase):
    """
    A burst of changes becomes one call after a short delay.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.calls: list[float] = []
        self.batcher = ChangeBatcher(
            self.clock, 0.2, lambda: self.calls.append(self.clock.seconds())
        )

    def test_burstIsOneCall(self) -> None:
        """
        Changes within the delay of the first one lead to a single call,
        made when the delay ends.
        """
        self.batcher.changed()
        self.clock.advance(0.1)
        self.batcher.changed()
        self.batcher.changed()
        self.assertEqual(self.calls, [])

        self.clock.advance(0.1)

        self.assertEqual(self.calls, [0.2])
        self.clock.advance(10)
        self.assertEqual(self.calls, [0.2])

    def test_laterChangeCallsAgain(self) -> None:
        """
        A change after the call starts a new delay and a new call.
        """
        self.batcher.changed()
        self.clock.advance(0.2)
        self.batcher.changed()
        self.clock.advance(0.2)

        self.assertEqual(self.calls, [0.2, 0.4])

    def test_cancel(self) -> None:
        """
        A cancelled batch leads to no call.
        """
        self.batcher.changed()
        self.batcher.cancel()
        self.clock.advance(1)

        self.assertEqual(self.calls, [])


class WatcherSetup:
    """
    A temporary configuration directory and a count of reported changes.
    """

    def setUpDirectory(self, testCase: SynchronousTestCase) -> None:
        self.directory = testCase.mktemp()
        os.makedirs(self.directory)
        writeConfig(self.directory, validVersion("a"))
        self.clock = Clock()
        self.changes = 0

    def onChange(self) -> None:
        self.changes += 1


class PollingWatcherTests(SynchronousTestCase, WatcherSetup):
    """
    The polling watcher notices changes of configuration files at its
    interval.
    """

    def setUp(self) -> None:
        self.setUpDirectory(self)
        batcher = ChangeBatcher(self.clock, SETTLE_SECONDS, self.onChange)
        self.watcher = PollingWatcher(self.clock, self.directory, batcher, 2.0)
        self.watcher.startService()
        self.addCleanup(self.watcher.stopService)

    def test_noChangeNoReload(self) -> None:
        """
        An unchanged directory leads to no reload, however long it runs.
        """
        self.clock.pump([2.0] * 10)

        self.assertEqual(self.changes, 0)

    def test_rewrittenFileReloads(self) -> None:
        """
        A rewritten file is noticed at the next check and reported once
        the settling delay has passed.
        """
        writeConfig(self.directory, validVersion("b"))

        self.clock.advance(2.0)
        self.assertEqual(self.changes, 0)
        self.clock.advance(SETTLE_SECONDS)

        self.assertEqual(self.changes, 1)
        self.clock.pump([2.0] * 5)
        self.assertEqual(self.changes, 1)

    def test_sameSizeNewTimeReloads(self) -> None:
        """
        A file whose size stays the same but whose modification time
        changes counts as changed.
        """
        path = os.path.join(self.directory, "service.toml")
        status = os.stat(path)
        os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns + 1_000_000_000))

        self.clock.pump([2.0, SETTLE_SECONDS])

        self.assertEqual(self.changes, 1)

    def test_newAndRemovedFilesReload(self) -> None:
        """
        Adding a configuration file and removing one are changes.
        """
        extra = os.path.join(self.directory, "extra.toml")
        with open(extra, "w") as f:
            f.write("\n")
        self.clock.pump([2.0, SETTLE_SECONDS])
        os.remove(extra)
        self.clock.pump([2.0, SETTLE_SECONDS])

        self.assertEqual(self.changes, 2)

    def test_otherFilesIgnored(self) -> None:
        """
        Hidden files (editor swap files) and files that are not C{*.toml}
        are not changes, because the loader does not read them.
        """
        for name in (".service.toml.swp", "notes.txt", "service.toml~"):
            with open(os.path.join(self.directory, name), "w") as f:
                f.write("x\n")

        self.clock.pump([2.0, SETTLE_SECONDS] * 2)

        self.assertEqual(self.changes, 0)

    def test_stopEndsChecks(self) -> None:
        """
        After the service stops, changes are not reported.
        """
        self.watcher.stopService()
        writeConfig(self.directory, validVersion("b"))

        self.clock.pump([2.0, SETTLE_SECONDS] * 2)

        self.assertEqual(self.changes, 0)


class FingerprintTests(SynchronousTestCase):
    """
    L{directoryFingerprint} summarizes what the loader would read.
    """

    def test_unreadableDirectory(self) -> None:
        """
        A directory that does not exist has a summary of its own, which
        differs from that of an empty directory.
        """
        missing = self.mktemp()
        empty = self.mktemp()
        os.makedirs(empty)

        self.assertNotEqual(directoryFingerprint(missing), directoryFingerprint(empty))

    def test_configNames(self) -> None:
        """
        Only visible C{*.toml} names are configuration files.
        """
        self.assertEqual(
            [isConfigName(n) for n in ("a.toml", ".a.toml", "a.toml.swp", "a.txt")],
            [True, False, False, False],
        )


class INotifyFilterTests(SynchronousTestCase, WatcherSetup):
    """
    The inotify watcher reports events on configuration files only.
    """

    def setUp(self) -> None:
        if not platform.supportsINotify():
            raise self.skipTest("this platform has no inotify")
        from twisted.internet import inotify

        self.inotify = inotify
        self.setUpDirectory(self)
        batcher = ChangeBatcher(self.clock, SETTLE_SECONDS, self.onChange)
        self.watcher = INotifyWatcher(self.clock, self.directory, batcher, 2.0)

    def event(self, name: bytes, mask: int) -> None:
        path = (
            FilePath(self.directory.encode()).child(name)
            if name
            else FilePath(self.directory.encode())
        )
        self.watcher._event(None, path, mask)

    def test_configFileEvent(self) -> None:
        """
        A written C{*.toml} file is a change.
        """
        self.event(b"service.toml", self.inotify.IN_CLOSE_WRITE)
        self.event(b"other.toml", self.inotify.IN_MOVED_TO)
        self.clock.advance(SETTLE_SECONDS)

        self.assertEqual(self.changes, 1)

    def test_otherFileEvent(self) -> None:
        """
        Events on hidden or non-TOML files are not changes.
        """
        self.event(b".service.toml.new", self.inotify.IN_CLOSE_WRITE)
        self.event(b"4913", self.inotify.IN_CREATE)
        self.clock.advance(SETTLE_SECONDS)

        self.assertEqual(self.changes, 0)

    def test_directoryRemoved(self) -> None:
        """
        Removal of the directory itself requests a reload, which then
        reports the missing directory, and logs a warning.
        """
        events = captureEvents(self)

        self.event(b"", self.inotify.IN_DELETE_SELF)
        self.clock.advance(SETTLE_SECONDS)

        self.assertEqual(self.changes, 1)
        warnings = [formatEvent(e) for e in events if e["log_level"] == LogLevel.warn]
        self.assertEqual(len(warnings), 1)
        self.assertIn("was removed or renamed", warnings[0])

    def test_fallBackToPolling(self) -> None:
        """
        When inotify cannot start, the watcher logs why and polls instead.
        """
        events = captureEvents(self)

        def noWatches(reactor: object) -> object:
            raise self.inotify.INotifyError("too many watches")

        self.patch(self.inotify, "INotify", noWatches)
        self.watcher.startService()
        self.addCleanup(self.watcher.stopService)
        writeConfig(self.directory, validVersion("b"))
        self.clock.pump([2.0, SETTLE_SECONDS])

        self.assertEqual(self.changes, 1)
        warnings = [formatEvent(e) for e in events if e["log_level"] == LogLevel.warn]
        self.assertEqual(len(warnings), 1)
        self.assertIn("(too many watches); checking it every 2.0 seconds instead", warnings[0])


class ChangeBeforeStartTests(SynchronousTestCase, WatcherSetup):
    """
    An edit made after the configuration was read but before the watcher
    started (during a long start-up) is not missed.
    """

    def setUp(self) -> None:
        self.setUpDirectory(self)
        self.loaded = directoryFingerprint(self.directory)

    def test_pollingSeesEarlierChange(self) -> None:
        """
        The polling watcher reports the change at start, before its first
        check.
        """
        writeConfig(self.directory, validVersion("b"))
        batcher = ChangeBatcher(self.clock, SETTLE_SECONDS, self.onChange)
        watcher = PollingWatcher(self.clock, self.directory, batcher, 2.0, self.loaded)
        watcher.startService()
        self.addCleanup(watcher.stopService)

        self.clock.advance(SETTLE_SECONDS)

        self.assertEqual(self.changes, 1)

    def test_pollingUnchanged(self) -> None:
        """
        Without an edit since the read, nothing is reported at start.
        """
        batcher = ChangeBatcher(self.clock, SETTLE_SECONDS, self.onChange)
        watcher = PollingWatcher(self.clock, self.directory, batcher, 2.0, self.loaded)
        watcher.startService()
        self.addCleanup(watcher.stopService)

        self.clock.advance(SETTLE_SECONDS)

        self.assertEqual(self.changes, 0)

    def test_inotifySeesEarlierChange(self) -> None:
        """
        The inotify watcher, which gets no event for an edit made before
        its watch existed, reports the change at start.
        """
        if not platform.supportsINotify():
            raise self.skipTest("this platform has no inotify")
        writeConfig(self.directory, validVersion("b"))
        batcher = ChangeBatcher(self.clock, SETTLE_SECONDS, self.onChange)
        watcher = INotifyWatcher(reactor, self.directory, batcher, 2.0, self.loaded)
        watcher.startService()
        self.addCleanup(watcher.stopService)

        self.clock.advance(SETTLE_SECONDS)

        self.assertEqual(self.changes, 1)


class INotifyWatcherTests(TestCase, WatcherSetup):
    """
    The inotify watcher notices a real change on disk.
    """

    def setUp(self) -> None:
        if not platform.supportsINotify():
            raise self.skipTest("this platform has no inotify")
        self.setUpDirectory(self)

    def test_realChangeSeen(self) -> Deferred[None]:
        """
        Rewriting the configuration file leads to a reported change.
        """
        changed: Deferred[None] = Deferred()
        batcher = ChangeBatcher(reactor, SETTLE_SECONDS, lambda: changed.callback(None))
        watcher = INotifyWatcher(reactor, self.directory, batcher, 2.0)
        watcher.startService()
        self.addCleanup(watcher.stopService)

        writeConfig(self.directory, validVersion("b"))

        changed.addTimeout(10, reactor)
        return changed


class MakeWatcherTests(SynchronousTestCase):
    """
    L{makeWatcher} builds the watcher of each C{--watch} mode.
    """

    def test_modes(self) -> None:
        """
        C{off} builds none, C{poll} a polling watcher, C{inotify} an inotify
        watcher, and C{auto} inotify where the platform has it.
        """
        clock = Clock()

        def build(mode: str) -> object:
            return makeWatcher(mode, clock, "config", lambda: None, 2.0)

        self.assertIsNone(build("off"))
        self.assertIsInstance(build("poll"), PollingWatcher)
        self.assertIsInstance(build("inotify"), INotifyWatcher)
        expected = INotifyWatcher if platform.supportsINotify() else PollingWatcher
        self.assertIsInstance(build("auto"), expected)


class INotifyMissingDirectoryTests(TestCase, WatcherSetup):
    """
    A directory that inotify cannot watch falls back to polling.
    """

    def test_missingDirectory(self) -> Deferred[None]:
        """
        When the directory is gone at start, the watcher logs that it polls
        instead, and notices the directory's return.
        """
        if not platform.supportsINotify():
            raise self.skipTest("this platform has no inotify")
        self.setUpDirectory(self)
        missing = os.path.join(self.directory, "missing")
        changed: Deferred[None] = Deferred()
        batcher = ChangeBatcher(reactor, 0.01, lambda: changed.callback(None))
        watcher = INotifyWatcher(reactor, missing, batcher, 0.05)
        events = captureEvents(self)

        watcher.startService()
        self.addCleanup(watcher.stopService)
        os.makedirs(missing)
        writeConfig(missing, validVersion("a"))

        warnings = [formatEvent(e) for e in events if e["log_level"] == LogLevel.warn]
        self.assertEqual(len(warnings), 1)
        self.assertIn("checking it every 0.05 seconds instead", warnings[0])
        changed.addTimeout(10, reactor)
        return changed
