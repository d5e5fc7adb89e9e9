"""
Tests for L{mailfront.reload}: reloads applied, rejected and coalesced, and
the SIGHUP handler.
"""

from __future__ import annotations

import os
import signal
from typing import Callable, TypeVar

from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.task import Clock
from twisted.logger import formatEvent
from twisted.trial.unittest import SynchronousTestCase

from mailfront.registry import loadDirectory
from mailfront.reload import Reloader, ReloadResult, RunInThread, hangupHandler, loadSnapshot
from mailfront.snapshot import Snapshot, SnapshotHolder, buildSnapshot

from .logcapture import captureEvents
from .versioned import DOMAIN, INVALID_SYNTAX, invalidVersion, validVersion, versionsOf, writeConfig

T = TypeVar("T")


class PendingThread:
    """
    Stands in for a worker thread: keeps each function until the test runs
    it with L{runNext}, so a test controls when a reload ends.
    """

    def __init__(self) -> None:
        self.pending: list[tuple[Callable[[], object], Deferred[object]]] = []

    def __call__(self, function: Callable[[], T]) -> Deferred[T]:
        waiting: Deferred[T] = Deferred()
        self.pending.append((function, waiting))  # type: ignore[arg-type]
        return waiting

    def runNext(self) -> None:
        """
        Run the oldest function and deliver its result, as the reactor
        thread would receive it.
        """
        function, waiting = self.pending.pop(0)
        maybeDeferred(function).chainDeferred(waiting)


def runAtOnce(function: Callable[[], T]) -> Deferred[T]:
    """
    Stand in for a worker thread that finishes at once.
    """
    return maybeDeferred(function)


class ReloaderSetup:
    """
    A configuration directory with version C{a} and a holder serving it.
    """

    def setUpReloader(
        self, testCase: SynchronousTestCase, runInThread: RunInThread, now: float = 1000
    ) -> None:
        self.directory = testCase.mktemp()
        os.makedirs(self.directory)
        writeConfig(self.directory, validVersion("a"))
        self.clock = Clock()
        self.clock.advance(now)
        self.holder = SnapshotHolder(buildSnapshot(loadDirectory(self.directory), 1))
        self.reloader = Reloader(self.holder, self.directory, self.clock, runInThread)

    def servedVersions(self) -> set[str]:
        """
        Render the domain's document from the serving snapshot and read which
        versions it shows.
        """
        document = self.holder.current.autoconfig[DOMAIN].render(DOMAIN)
        return set(versionsOf(document))


class ReloaderTests(SynchronousTestCase, ReloaderSetup):
    """
    A reload applies a valid configuration whole and rejects an invalid one
    whole.
    """

    def setUp(self) -> None:
        self.setUpReloader(self, runAtOnce)

    def test_validChangeApplied(self) -> None:
        """
        After a valid change and a reload, responses come from the new
        configuration, with the next generation.
        """
        writeConfig(self.directory, validVersion("b"))
        self.clock.advance(5)

        result = self.successResultOf(self.reloader.request("test"))

        self.assertEqual(self.servedVersions(), {"b"})
        self.assertEqual(self.holder.current.generation, 2)
        self.assertEqual(result, ReloadResult(True, "test", 1005.0, 2))
        self.assertEqual(self.reloader.lastResult, result)
        self.assertEqual(self.reloader.lastSuccessAt, 1005.0)
        self.assertEqual((self.reloader.succeeded, self.reloader.failed), (1, 0))

    def test_invalidChangeRejected(self) -> None:
        """
        A configuration that fails validation leaves the old snapshot
        serving, and the result names the file, key and reason of every
        problem.
        """
        before = self.holder.current
        writeConfig(self.directory, invalidVersion())

        result = self.successResultOf(self.reloader.request("test"))

        self.assertIs(self.holder.current, before)
        self.assertEqual(self.servedVersions(), {"a"})
        self.assertFalse(result.succeeded)
        self.assertEqual(result.generation, 1)
        path = os.path.join(self.directory, "service.toml")
        self.assertEqual(
            [(e.path, e.key) for e in result.errors],
            [
                (path, "providers.versioned.incoming[0].port"),
                (path, "providers.versioned.outgoing[0].port"),
            ],
        )
        self.assertIn("out of range", result.errors[0].reason)
        self.assertEqual((self.reloader.succeeded, self.reloader.failed), (0, 1))

    def test_rejectionLogged(self) -> None:
        """
        Each problem of a rejected configuration is logged as an error with
        its file and reason, followed by a warning that names the
        generation still serving.
        """
        events = captureEvents(self)
        writeConfig(self.directory, INVALID_SYNTAX)

        self.successResultOf(self.reloader.request("SIGHUP"))

        texts = [formatEvent(event) for event in events]
        path = os.path.join(self.directory, "service.toml")
        errors = [e for e in events if e["log_level"].name == "error"]
        self.assertEqual(len(errors), 1)
        self.assertEqual(errors[0]["file"], path)
        self.assertTrue(
            texts[0].startswith(f"Configuration rejected: {path}: invalid TOML: "), texts[0]
        )
        self.assertIn(
            "Reload (SIGHUP) rejected, still serving generation 1; problems found: 1", texts
        )

    def test_successLogged(self) -> None:
        """
        An applied reload is logged with its trigger, generation and size.
        """
        events = captureEvents(self)
        writeConfig(self.directory, validVersion("b"))

        self.successResultOf(self.reloader.request("SIGHUP"))

        self.assertIn(
            "Reloaded the configuration (SIGHUP): generation 2, 1 domains, 1 providers",
            [formatEvent(event) for event in events],
        )

    def test_validAfterInvalid(self) -> None:
        """
        A valid configuration after a rejected one is applied with the next
        generation of the one serving.
        """
        writeConfig(self.directory, invalidVersion())
        self.successResultOf(self.reloader.request("test"))
        writeConfig(self.directory, validVersion("b"))

        result = self.successResultOf(self.reloader.request("test"))

        self.assertTrue(result.succeeded)
        self.assertEqual(self.holder.current.generation, 2)
        self.assertEqual(self.servedVersions(), {"b"})

    def test_missingDirectoryRejected(self) -> None:
        """
        A configuration directory that disappeared is a rejected reload, not
        a crash.
        """
        os.remove(os.path.join(self.directory, "service.toml"))
        os.rmdir(self.directory)

        result = self.successResultOf(self.reloader.request("test"))

        self.assertFalse(result.succeeded)
        self.assertEqual(result.errors[0].path, self.directory)
        self.assertEqual(self.servedVersions(), {"a"})

    def test_unexpectedErrorKeepsServing(self) -> None:
        """
        An unexpected exception while building a snapshot is logged with its
        traceback and reported as a failed reload. The old snapshot keeps
        serving, and later reloads still run.
        """

        def broken(directory: str, generation: int) -> Snapshot:
            raise RuntimeError("renderer bug")

        before = self.holder.current
        reloader = Reloader(self.holder, self.directory, self.clock, runAtOnce, broken)

        result = self.successResultOf(reloader.request("test"))

        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.assertIs(self.holder.current, before)
        self.assertFalse(result.succeeded)
        self.assertEqual(
            result.errors[0].reason, "reload failed with an unexpected error: renderer bug"
        )
        self.assertFalse(reloader.busy)

    def test_observersToldInOrder(self) -> None:
        """
        Reload observers and snapshot observers hear of each reload once.
        """
        results: list[ReloadResult] = []
        swaps: list[tuple[int, int]] = []
        self.reloader.addObserver(results.append)
        self.holder.addObserver(lambda old, new: swaps.append((old.generation, new.generation)))
        writeConfig(self.directory, validVersion("b"))
        self.successResultOf(self.reloader.request("one"))
        writeConfig(self.directory, INVALID_SYNTAX)
        self.successResultOf(self.reloader.request("two"))

        self.assertEqual(
            [(r.trigger, r.succeeded) for r in results], [("one", True), ("two", False)]
        )
        self.assertEqual(swaps, [(1, 2)])

    def test_brokenObserver(self) -> None:
        """
        A reload observer that raises is logged, and the reload still
        reports its result and the next reload still runs.
        """

        def broken(result: ReloadResult) -> None:
            raise ZeroDivisionError("observer bug")

        self.reloader.addObserver(broken)
        writeConfig(self.directory, validVersion("b"))

        first = self.successResultOf(self.reloader.request("one"))
        second = self.successResultOf(self.reloader.request("two"))

        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 2)
        self.assertEqual((first.generation, second.generation), (2, 3))
        self.assertFalse(self.reloader.busy)

    def test_startUpResult(self) -> None:
        """
        Before any reload, the last result is the start-up load.
        """
        self.assertEqual(self.reloader.lastResult, ReloadResult(True, "start-up", 1000.0, 1))
        self.assertEqual(self.reloader.lastSuccessAt, 1000.0)


class CoalescingTests(SynchronousTestCase, ReloaderSetup):
    """
    Requests that arrive while a reload runs share one queued reload.
    """

    def setUp(self) -> None:
        self.thread = PendingThread()
        self.setUpReloader(self, self.thread)

    def test_rapidRequestsCoalesce(self) -> None:
        """
        Ten requests during a running reload lead to exactly one more
        reload, and every request learns the result of a reload that
        started after it.
        """
        first = self.reloader.request("first")
        later = [self.reloader.request(f"later {i}") for i in range(10)]

        self.assertEqual(len(self.thread.pending), 1)
        self.assertTrue(self.reloader.busy)
        writeConfig(self.directory, validVersion("b"))
        self.thread.runNext()

        firstResult = self.successResultOf(first)
        self.assertEqual(firstResult.generation, 2)
        self.assertEqual(len(self.thread.pending), 1)
        for waiting in later:
            self.assertNoResult(waiting)

        self.thread.runNext()

        laterResults = [self.successResultOf(waiting) for waiting in later]
        self.assertEqual({r.generation for r in laterResults}, {3})
        self.assertEqual({r.trigger for r in laterResults}, {"later 0"})
        self.assertEqual(self.thread.pending, [])
        self.assertFalse(self.reloader.busy)
        self.assertEqual(self.reloader.succeeded, 2)

    def test_idleAfterQueueDrained(self) -> None:
        """
        Once the queued reload ends, the next request starts a reload at
        once.
        """
        self.reloader.request("one")
        self.reloader.request("two")
        self.thread.runNext()
        self.thread.runNext()

        self.reloader.request("three")

        self.assertEqual(len(self.thread.pending), 1)

    def test_oldSnapshotServesWhileBuilding(self) -> None:
        """
        Until the new snapshot is complete, requests are served from the
        old one.
        """
        writeConfig(self.directory, validVersion("b"))
        self.reloader.request("test")

        self.assertEqual(self.servedVersions(), {"a"})
        self.thread.runNext()
        self.assertEqual(self.servedVersions(), {"b"})

    def test_buildHappensInWorker(self) -> None:
        """
        The configuration is read by the function given to the worker, not
        when the request is made.
        """
        self.reloader.request("test")
        writeConfig(self.directory, validVersion("b"))

        self.thread.runNext()

        self.assertEqual(self.servedVersions(), {"b"})


class FakeThreads:
    """
    Records C{callFromThread} calls instead of running them.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[Callable[..., object], tuple[object, ...]]] = []

    def callFromThread(self, function: Callable[..., object], *arguments: object) -> None:
        self.calls.append((function, arguments))

    def runAll(self) -> None:
        calls, self.calls = self.calls, []
        for function, arguments in calls:
            function(*arguments)


class HangupHandlerTests(SynchronousTestCase, ReloaderSetup):
    """
    The SIGHUP handler schedules a reload into the reactor thread.
    """

    def setUp(self) -> None:
        self.setUpReloader(self, runAtOnce)

    def test_handlerOnlySchedules(self) -> None:
        """
        The handler itself reloads nothing; the reload runs when the reactor
        thread runs what the handler scheduled, with C{SIGHUP} as trigger.
        """
        threads = FakeThreads()
        handler = hangupHandler(threads.callFromThread, self.reloader)
        writeConfig(self.directory, validVersion("b"))

        handler(signal.SIGHUP, None)

        self.assertEqual(self.servedVersions(), {"a"})
        self.assertEqual(len(threads.calls), 1)
        threads.runAll()
        self.assertEqual(self.servedVersions(), {"b"})
        self.assertEqual(self.reloader.lastResult.trigger, "SIGHUP")

    def test_loadSnapshotBuildsGeneration(self) -> None:
        """
        L{loadSnapshot} reads the directory into a snapshot of the given
        generation.
        """
        snapshot = loadSnapshot(self.directory, 7)

        self.assertEqual(snapshot.generation, 7)
        self.assertEqual(list(snapshot.registry.domains), [DOMAIN])
