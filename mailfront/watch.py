"""
Watching the configuration directory for changes.

On Linux, L{INotifyWatcher} reacts to inotify events; elsewhere
L{PollingWatcher} compares the name, size, modification time and inode of
every configuration file at a fixed interval. Both report a change through
a L{ChangeBatcher}, which waits a moment so that an editor's several writes
(a backup, a rename, a chmod) lead to one reload, not three.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Optional

from twisted.application.service import Service
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.python.filepath import FilePath
from twisted.python.runtime import platform

from .registry import InvalidConfiguration, configFiles

__all__ = [
    "WATCH_MODES",
    "SETTLE_SECONDS",
    "ChangeBatcher",
    "Fingerprint",
    "INotifyWatcher",
    "PollingWatcher",
    "directoryFingerprint",
    "isConfigName",
    "makeWatcher",
]

#: Values of the C{--watch} option.
WATCH_MODES = ("auto", "inotify", "poll", "off")

#: Seconds between the first change noticed and the reload it requests.
SETTLE_SECONDS = 0.2

Fingerprint = tuple[tuple[str, Optional[int], Optional[int], Optional[int]], ...]


def isConfigName(name: str) -> bool:
    """
    Tell whether a file name is one the loader reads: C{*.toml}, not hidden
    (editors' swap files such as C{.hosting.toml.swp} are hidden).
    """
    return name.endswith(".toml") and not name.startswith(".")


class ChangeBatcher:
    """
    Turns a burst of changes into one call.

    The first change starts a delay of C{delay} seconds; changes during the
    delay join it, and C{onSettled} is called once when it ends. A change
    after that starts a new delay.
    """

    def __init__(self, clock: IReactorTime, delay: float, onSettled: Callable[[], object]) -> None:
        self._clock = clock
        self._delay = delay
        self._onSettled = onSettled
        self._pending: Optional[IDelayedCall] = None

    def changed(self) -> None:
        """
        Note one change.
        """
        if self._pending is None:
            self._pending = self._clock.callLater(self._delay, self._settled)

    def cancel(self) -> None:
        """
        Forget a change that has not led to a call yet.
        """
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None

    def _settled(self) -> None:
        self._pending = None
        self._onSettled()


def directoryFingerprint(directory: str) -> Fingerprint:
    """
    Summarize the configuration files of a directory, so that any change to
    their names, sizes, modification times or inodes changes the summary.

    A directory that cannot be read gets a summary of its own, so that it
    becoming readable again counts as a change.
    """
    try:
        paths = configFiles(directory)
    except InvalidConfiguration:
        return (("", None, None, None),)
    entries: list[tuple[str, Optional[int], Optional[int], Optional[int]]] = []
    for path in paths:
        try:
            status = os.stat(path)
        except OSError:
            entries.append((path, None, None, None))
            continue
        entries.append((path, status.st_mtime_ns, status.st_size, status.st_ino))
    return tuple(entries)


class PollingWatcher(Service):
    """
    Checks the directory every C{interval} seconds and reports a change.

    Each check lists the directory and calls C{stat} on each configuration
    file, in the reactor thread; a configuration directory has a few files,
    so a check costs well under a millisecond.
    """

    log = Logger()

    def __init__(
        self,
        clock: IReactorTime,
        directory: str,
        batcher: ChangeBatcher,
        interval: float,
        loaded: Optional[Fingerprint] = None,
    ) -> None:
        """
        @param loaded: The fingerprint taken before the serving
            configuration was read; a change since then is reported at
            start. C{None} compares with the directory as it is at start.
        """
        self._clock = clock
        self._directory = directory
        self._batcher = batcher
        self._interval = interval
        self._loaded = loaded
        self._last: Fingerprint = ()
        self._loop: Optional[LoopingCall] = None

    def startService(self) -> None:
        super().startService()
        self._last = directoryFingerprint(self._directory)
        if self._loaded is not None and self._loaded != self._last:
            self._batcher.changed()
        self._loop = LoopingCall(self._check)
        self._loop.clock = self._clock
        self._loop.start(self._interval, now=False)
        self.log.info(
            "Checking {directory} for changes every {interval} seconds",
            directory=self._directory,
            interval=self._interval,
        )

    def stopService(self) -> None:
        super().stopService()
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self._batcher.cancel()

    def _check(self) -> None:
        current = directoryFingerprint(self._directory)
        if current != self._last:
            self._last = current
            self._batcher.changed()


def _inotifyMask() -> int:
    """
    Select the inotify events that mean a configuration file may have
    changed: written and closed, created, removed, renamed, or its
    permissions changed; and the directory itself removed or renamed.

    C{twisted.internet.inotify} is imported here, not at the top, because
    importing it fails where the C library has no inotify.
    """
    from twisted.internet import inotify

    return (
        inotify.IN_CLOSE_WRITE
        | inotify.IN_CREATE
        | inotify.IN_DELETE
        | inotify.IN_MOVED_FROM
        | inotify.IN_MOVED_TO
        | inotify.IN_ATTRIB
        | inotify.IN_DELETE_SELF
        | inotify.IN_MOVE_SELF
    )


class INotifyWatcher(Service):
    """
    Reports changes of the configuration files that inotify reports.

    If inotify cannot be started (the per-user watch limit is reached, for
    example), it logs why and polls instead.
    """

    log = Logger()

    def __init__(
        self,
        reactor: Any,
        directory: str,
        batcher: ChangeBatcher,
        fallbackInterval: float,
        loaded: Optional[Fingerprint] = None,
    ) -> None:
        """
        @param reactor: The reactor; it must provide C{IReactorFDSet} and
            C{IReactorTime}.
        @param fallbackInterval: Seconds between checks if it has to poll.
        @param loaded: The fingerprint taken before the serving
            configuration was read. A change between then and the start of
            the watch sends no inotify event, so it is found by comparing.
        """
        self._reactor = reactor
        self._directory = directory
        self._batcher = batcher
        self._fallbackInterval = fallbackInterval
        self._loaded = loaded
        self._notifier: Any = None
        self._fallback: Optional[PollingWatcher] = None

    def startService(self) -> None:
        super().startService()
        try:
            from twisted.internet import inotify
        except ImportError as e:
            self._pollInstead(str(e))
            return
        try:
            notifier = inotify.INotify(self._reactor)
        except (inotify.INotifyError, OSError) as e:
            self._pollInstead(str(e))
            return
        try:
            notifier.watch(FilePath(self._directory), mask=_inotifyMask(), callbacks=[self._event])
        except (inotify.INotifyError, OSError) as e:
            notifier.loseConnection()
            self._pollInstead(str(e))
            return
        notifier.startReading()
        self._notifier = notifier
        self.log.info("Watching {directory} with inotify", directory=self._directory)
        if self._loaded is not None and self._loaded != directoryFingerprint(self._directory):
            self._batcher.changed()

    def _pollInstead(self, reason: str) -> None:
        self.log.warn(
            "Cannot watch {directory} with inotify ({error}); checking it every "
            "{interval} seconds instead",
            directory=self._directory,
            error=reason,
            interval=self._fallbackInterval,
        )
        self._fallback = PollingWatcher(
            self._reactor, self._directory, self._batcher, self._fallbackInterval, self._loaded
        )
        self._fallback.startService()

    def stopService(self) -> None:
        super().stopService()
        if self._notifier is not None:
            self._notifier.loseConnection()
            self._notifier = None
        if self._fallback is not None:
            self._fallback.stopService()
            self._fallback = None
        self._batcher.cancel()

    def _event(self, ignored: object, path: FilePath[bytes], mask: int) -> None:
        from twisted.internet import inotify

        if mask & (inotify.IN_DELETE_SELF | inotify.IN_MOVE_SELF):
            self.log.warn(
                "The configuration directory {directory} was removed or renamed; changes "
                "are no longer seen. Restore it and send SIGHUP to reload.",
                directory=self._directory,
            )
            self._batcher.changed()
            return
        name = path.basename().decode("utf-8", "replace")
        if isConfigName(name):
            self._batcher.changed()


def makeWatcher(
    mode: str,
    reactor: Any,
    directory: str,
    onChange: Callable[[], object],
    interval: float,
    loaded: Optional[Fingerprint] = None,
) -> Optional[Service]:
    """
    Build the watcher of a C{--watch} mode.

    @param mode: One of L{WATCH_MODES}; C{auto} means inotify where the
        platform has it and polling elsewhere.
    @param reactor: The reactor (time, and file descriptors for inotify).
    @param onChange: Called once per batch of changes.
    @param interval: Seconds between checks when polling.
    @param loaded: L{directoryFingerprint} taken before the serving
        configuration was read, so that an edit made while mailfront
        started is not missed.
    @return: The watcher service, or C{None} for C{off}.
    """
    if mode == "off":
        return None
    batcher = ChangeBatcher(reactor, SETTLE_SECONDS, onChange)
    if mode == "inotify" or (mode == "auto" and platform.supportsINotify()):
        return INotifyWatcher(reactor, directory, batcher, interval, loaded)
    return PollingWatcher(reactor, directory, batcher, interval, loaded)
