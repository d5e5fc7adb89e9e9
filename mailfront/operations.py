"""
Wiring of what operators use: reload triggers, metrics and the admin
listener.
"""

from __future__ import annotations

import os
import signal
from typing import Any, Callable, Optional

import attrs
from twisted.application.internet import StreamServerEndpointService
from twisted.application.service import MultiService, Service
from twisted.internet.endpoints import serverFromString
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool

from .admin import buildAdminSite, ensureAdminToken
from .metrics import Metrics
from .reload import Reloader, hangupHandler, loadSnapshot
from .snapshot import Snapshot, SnapshotHolder
from .watch import Fingerprint, makeWatcher

__all__ = ["Operations", "ReloadService", "buildOperations", "ADMIN_TOKEN_NAME"]

#: File name of the admin token inside the state directory.
ADMIN_TOKEN_NAME = "admin-token"

#: The trigger that the directory watcher passes to L{Reloader.request}.
WATCH_TRIGGER = "configuration directory changed"


class ReloadService(MultiService):
    """
    Runs the reload machinery while the service runs: the worker thread
    that builds snapshots, the SIGHUP handler, and the directory watcher
    and admin listener as child services.
    """

    def __init__(self, reactor: Any, reloader: Reloader, threadpool: ThreadPool) -> None:
        super().__init__()
        self._reactor = reactor
        self._reloader = reloader
        self._threadpool = threadpool
        self._previousHangup: Optional[Callable[..., object] | int] = None

    def startService(self) -> None:
        self._threadpool.start()
        if hasattr(signal, "SIGHUP"):
            handler = hangupHandler(self._reactor.callFromThread, self._reloader)
            self._previousHangup = signal.signal(signal.SIGHUP, handler)
        super().startService()

    def stopService(self) -> Any:
        if hasattr(signal, "SIGHUP") and self._previousHangup is not None:
            signal.signal(signal.SIGHUP, self._previousHangup)
            self._previousHangup = None
        stopping = super().stopService()
        # Waits for a reload that is still building, which can take a few
        # seconds for a very large registry.
        self._threadpool.stop()
        return stopping


@attrs.frozen
class Operations:
    """
    The parts built by L{buildOperations}.

    @ivar service: Add it to the application's service tree.
    @ivar metrics: Give it to the public Site as its request observer.
    """

    service: ReloadService
    metrics: Metrics
    reloader: Reloader


def buildOperations(
    reactor: Any,
    holder: SnapshotHolder,
    configDirectory: str,
    stateDirectory: str,
    admin: Optional[str],
    adminTokenFile: Optional[str],
    watch: str,
    pollInterval: float,
    load: Callable[[str, int], Snapshot] = loadSnapshot,
    loadedFingerprint: Optional[Fingerprint] = None,
) -> Operations:
    """
    Build reload, metrics and the admin listener around C{holder}.

    @param reactor: The reactor (time, threads, sockets).
    @param admin: Endpoint description of the admin listener, or C{None}
        for none.
    @param adminTokenFile: The admin token file; C{None} means
        C{admin-token} in C{stateDirectory}.
    @param watch: One of L{mailfront.watch.WATCH_MODES}.
    @param pollInterval: Seconds between checks when polling the directory.
    @param load: Builds the snapshot of a reload from the directory, in the
        reload thread.
    @param loadedFingerprint: The directory's fingerprint from before the
        serving configuration was read; see L{makeWatcher}.
    @raise mailfront.admin.AdminTokenError: If the admin token file cannot be
        read or created.
    """
    metrics = Metrics(holder.current, reactor.seconds())
    threadpool = ThreadPool(minthreads=0, maxthreads=1, name="mailfront-reload")
    reloader = Reloader(
        holder,
        configDirectory,
        reactor,
        lambda function: deferToThreadPool(reactor, threadpool, function),
        load,
    )
    holder.addObserver(metrics.snapshotSwapped)
    reloader.addObserver(metrics.reloadFinished)

    service = ReloadService(reactor, reloader, threadpool)
    watcher: Optional[Service] = makeWatcher(
        watch,
        reactor,
        configDirectory,
        lambda: reloader.request(WATCH_TRIGGER),
        pollInterval,
        loadedFingerprint,
    )
    if watcher is not None:
        watcher.setServiceParent(service)
    if admin is not None:
        if adminTokenFile is None:
            adminTokenFile = os.path.join(stateDirectory, ADMIN_TOKEN_NAME)
        token = ensureAdminToken(adminTokenFile)
        site = buildAdminSite(holder, reloader, metrics, token, reactor)
        StreamServerEndpointService(serverFromString(reactor, admin), site).setServiceParent(
            service
        )
    return Operations(service, metrics, reloader)
