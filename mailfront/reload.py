"""
Live reload: build a new snapshot off the reactor thread and swap it in.

Every trigger (SIGHUP, a change in the configuration directory, an admin
request) calls L{Reloader.request}. A reload reads and validates the whole
directory and prepares every response in a worker thread, then replaces the
holder's snapshot in one assignment in the reactor thread. A configuration
that fails validation is rejected whole: the old snapshot keeps serving, and
the problems are logged and kept in L{Reloader.lastResult} for the health
endpoint.

Triggers that arrive while a reload runs are coalesced: at most one more
reload is queued, and it starts after the running one ends, so it reads
every change made before it starts.
"""

from __future__ import annotations

import signal
from types import FrameType
from typing import Callable, Optional, Protocol, TypeVar

import attrs
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from .redact import redactAddresses
from .registry import ConfigError, InvalidConfiguration, loadDirectory
from .snapshot import Snapshot, SnapshotHolder, buildSnapshot

__all__ = [
    "ReloadResult",
    "Reloader",
    "RunInThread",
    "loadSnapshot",
    "hangupHandler",
]

T = TypeVar("T")


class RunInThread(Protocol):
    """
    Runs a function in a worker thread, such as C{deferToThreadPool} bound
    to a reactor and a thread pool.
    """

    def __call__(self, function: Callable[[], T]) -> Deferred[T]:
        """
        Call C{function} in a worker thread.

        @return: A L{Deferred} that fires in the reactor thread with the
            result, or fails with the exception.
        """


class CallFromThread(Protocol):
    """
    The C{callFromThread} method of a reactor.
    """

    def __call__(self, function: Callable[..., object], *arguments: object) -> None:
        """
        Schedule C{function(*arguments)} to run in the reactor thread.
        """


@attrs.frozen
class ReloadResult:
    """
    The outcome of the last reload, or of the start-up load before any.

    @ivar succeeded: Whether the new configuration was applied.
    @ivar trigger: What requested the reload, such as C{"SIGHUP"}.
    @ivar finishedAt: Reactor time (POSIX seconds) when it ended.
    @ivar generation: The generation serving after the reload.
    @ivar errors: Why the configuration was rejected; empty on success.
    """

    succeeded: bool
    trigger: str
    finishedAt: float
    generation: int
    errors: tuple[ConfigError, ...] = ()


def loadSnapshot(directory: str, generation: int) -> Snapshot:
    """
    Read a configuration directory and prepare a complete snapshot from it.

    This runs in a worker thread, so it must not touch the reactor.

    @raise InvalidConfiguration: If the configuration is invalid.
    """
    return buildSnapshot(loadDirectory(directory), generation)


class Reloader:
    """
    Coalesces reload requests and applies each reload in one step.

    @ivar lastResult: The result of the last completed reload; right after
        start-up, a successful result with trigger C{"start-up"}.
    @ivar lastSuccessAt: Reactor time of the last configuration applied,
        including the start-up load.
    @ivar succeeded: Count of reloads that applied a new configuration.
    @ivar failed: Count of reloads that were rejected.
    """

    log = Logger()

    def __init__(
        self,
        holder: SnapshotHolder,
        directory: str,
        clock: IReactorTime,
        runInThread: RunInThread,
        load: Callable[[str, int], Snapshot] = loadSnapshot,
    ) -> None:
        """
        @param holder: The holder whose snapshot reloads replace.
        @param directory: The configuration directory to read.
        @param clock: Provides the time of each result.
        @param runInThread: Runs the loading away from the reactor thread.
        @param load: Builds a snapshot of a given generation from the
            directory; L{loadSnapshot} unless a test replaces it.
        """
        self._holder = holder
        self._directory = directory
        self._clock = clock
        self._runInThread = runInThread
        self._load = load
        self._observers: list[Callable[[ReloadResult], None]] = []
        self._running: Optional[list[Deferred[ReloadResult]]] = None
        self._queued: Optional[list[Deferred[ReloadResult]]] = None
        self._queuedTrigger = ""
        now = clock.seconds()
        self.lastResult = ReloadResult(True, "start-up", now, holder.current.generation)
        self.lastSuccessAt = now
        self.succeeded = 0
        self.failed = 0

    @property
    def busy(self) -> bool:
        """
        Whether a reload is running now.
        """
        return self._running is not None

    def addObserver(self, observer: Callable[[ReloadResult], None]) -> None:
        """
        Call C{observer(result)} in the reactor thread after every reload.
        """
        self._observers.append(observer)

    def request(self, trigger: str) -> Deferred[ReloadResult]:
        """
        Request a reload that reads the directory after this call.

        Call this only in the reactor thread.

        @param trigger: What requested the reload, such as C{"SIGHUP"}, for
            the log and the health endpoint.
        @return: A L{Deferred} that fires with the result of the reload that
            covers this request. It never fails, because a rejected
            configuration is a result too.
        """
        waiter: Deferred[ReloadResult] = Deferred()
        if self._running is None:
            self._start(trigger, [waiter])
        elif self._queued is None:
            self.log.info(
                "Reload requested ({trigger}) while another runs; it starts when that one ends",
                trigger=trigger,
            )
            self._queued = [waiter]
            self._queuedTrigger = trigger
        else:
            self.log.debug(
                "Reload requested ({trigger}); joined the queued reload", trigger=trigger
            )
            self._queued.append(waiter)
        return waiter

    def _start(self, trigger: str, waiters: list[Deferred[ReloadResult]]) -> None:
        self._running = waiters
        generation = self._holder.current.generation + 1
        directory = self._directory
        load = self._load
        loading = self._runInThread(lambda: load(directory, generation))
        # The errback also receives what _apply raises, so a failing snapshot
        # observer ends the reload instead of leaving it running forever.
        result = loading.addCallback(self._apply, trigger).addErrback(self._reject, trigger)
        result.addCallback(self._finish)

    def _apply(self, snapshot: Snapshot, trigger: str) -> ReloadResult:
        self._holder.swap(snapshot)
        self.succeeded += 1
        self.lastSuccessAt = self._clock.seconds()
        self.log.info(
            "Reloaded the configuration ({trigger}): generation {generation}, "
            "{domains} domains, {providers} providers",
            trigger=trigger,
            generation=snapshot.generation,
            domains=len(snapshot.registry.domains),
            providers=len(snapshot.registry.providers),
        )
        return ReloadResult(True, trigger, self.lastSuccessAt, snapshot.generation)

    def _reject(self, failure: Failure, trigger: str) -> ReloadResult:
        serving = self._holder.current.generation
        if failure.check(InvalidConfiguration):
            errors = failure.value.errors
            for error in errors:
                self._logProblem(error)
        else:
            # Not a configuration problem but a bug, so the traceback is
            # logged; the service goes on with the old snapshot all the same.
            self.log.failure(
                "Reload failed ({trigger}) with an unexpected error", failure, trigger=trigger
            )
            reason = f"reload failed with an unexpected error: {failure.getErrorMessage()}"
            errors = (ConfigError(self._directory, "", reason),)
        self.failed += 1
        self.log.warn(
            "Reload ({trigger}) rejected, still serving generation {generation}; "
            "problems found: {count}",
            trigger=trigger,
            count=len(errors),
            generation=serving,
        )
        return ReloadResult(False, trigger, self._clock.seconds(), serving, tuple(errors))

    def _logProblem(self, error: ConfigError) -> None:
        # A file name, a domain key or a quoted value may be an address.
        path = redactAddresses(error.path)
        key = redactAddresses(error.key)
        self.log.error(
            "Configuration rejected: {location}: {reason}",
            location=f"{path}: {key}" if key else path,
            file=path,
            key=key,
            reason=redactAddresses(error.reason),
        )

    def _finish(self, result: ReloadResult) -> None:
        self.lastResult = result
        waiters, self._running = self._running or [], None
        for observer in self._observers:
            # Any exception: one broken observer must not leave the waiters
            # unanswered and the reloader busy forever.
            try:
                observer(result)
            except Exception:
                self.log.failure("Reload observer {observer} failed", observer=observer)
        for waiter in waiters:
            waiter.callback(result)
        if self._queued is not None:
            queued, self._queued = self._queued, None
            self._start(self._queuedTrigger, queued)


def hangupHandler(
    callFromThread: CallFromThread, reloader: Reloader
) -> Callable[[int, Optional[FrameType]], None]:
    """
    Build a SIGHUP handler that requests a reload from C{reloader}.

    A signal handler runs between two bytecodes of whatever the main thread
    was doing, so it only schedules the request into the reactor with
    C{callFromThread}, which is safe to call from a signal handler.
    """

    def handle(signalNumber: int, frame: Optional[FrameType]) -> None:
        callFromThread(reloader.request, signal.Signals(signalNumber).name)

    return handle
