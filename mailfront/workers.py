"""
Several worker processes serving the same HTTP and HTTPS listeners.

One Python process serves requests on one core. With C{--workers N}, the
process twistd starts is worker 0: it starts N-1 more C{twistd mailfront}
processes with the same options, and every worker opens each C{tcp:}
listener with C{SO_REUSEPORT}, so the kernel spreads new connections over
the workers' sockets. Each worker loads the registry itself and serves
requests from its own snapshot.

Worker 0 stops the other workers when it stops. A worker whose worker 0
disappears (killed with SIGKILL) notices its standard input closing and
stops too. Only worker 0 runs the admin listener and watches the
configuration directory; after each reload that worker 0 applies, it sends
SIGHUP to the other workers, so they reload too.
"""

from __future__ import annotations

import os
import socket
import sys
from typing import Any, Optional, Sequence

import attrs
from twisted.application.service import Service
from twisted.internet import defer
from twisted.internet.endpoints import TCP6ServerEndpoint, serverFromString
from twisted.internet.error import ProcessDone, ProcessExitedAlready
from twisted.internet.interfaces import IListeningPort, IProtocolFactory, IStreamServerEndpoint
from twisted.internet.process import ProcessReader
from twisted.internet.protocol import ProcessProtocol
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from .snapshot import Snapshot, SnapshotHolder

__all__ = [
    "TWISTD_FOREGROUND",
    "InvalidWorkerListener",
    "ReusePortEndpoint",
    "WorkerLauncher",
    "WorkerChild",
    "reusePortEndpoint",
    "workerLogFile",
    "workerService",
]

log = Logger()

#: File descriptor on which a started worker reports to worker 0 that it
#: is serving.
READY_FD = 3

#: Seconds a worker gets to stop after SIGTERM before it gets SIGKILL.
STOP_TIMEOUT = 10.0

#: Runs twistd in the foreground with this interpreter and no pid file; the
#: log file and the plugin's options follow. C{python -m twisted} would run
#: C{twist}, not C{twistd}.
TWISTD_FOREGROUND = (
    sys.executable,
    "-c",
    "from twisted.scripts.twistd import run; run()",
    "--nodaemon",
    "--pidfile=",
)


class InvalidWorkerListener(ValueError):
    """
    A listener description that workers cannot share. The message gives the
    reason.
    """


@implementer(IStreamServerEndpoint)
@attrs.frozen
class ReusePortEndpoint:
    """
    A TCP server endpoint whose socket has C{SO_REUSEPORT} set, so that
    several processes can listen on the same address and port.
    """

    reactor: object
    family: socket.AddressFamily
    port: int
    interface: str
    backlog: int

    def listen(self, protocolFactory: IProtocolFactory) -> defer.Deferred[IListeningPort]:
        return defer.execute(self._listen, protocolFactory)

    def _listen(self, protocolFactory: IProtocolFactory) -> IListeningPort:
        with socket.socket(self.family, socket.SOCK_STREAM) as listening:
            listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            listening.bind((self.interface, self.port))
            listening.listen(self.backlog)
            listening.setblocking(False)
            # adoptStreamPort duplicates the descriptor, so this one closes.
            port: IListeningPort = self.reactor.adoptStreamPort(  # type: ignore[attr-defined]
                listening.fileno(), self.family, protocolFactory
            )
            return port


def reusePortEndpoint(reactor: object, description: str) -> ReusePortEndpoint:
    """
    Build a L{ReusePortEndpoint} from a C{tcp:} or C{tcp6:} endpoint
    description, such as C{tcp:8080:interface=127.0.0.1}.

    @raise InvalidWorkerListener: For any other kind of description, or on
        a system without C{SO_REUSEPORT}.
    """
    if not hasattr(socket, "SO_REUSEPORT"):
        raise InvalidWorkerListener("this system has no SO_REUSEPORT, so --workers must be 1")
    kind = description.split(":", 1)[0].strip().lower()
    if kind not in ("tcp", "tcp6"):
        raise InvalidWorkerListener(
            f"{description!r} cannot be shared by workers; with --workers, write "
            "tcp: or tcp6: listeners"
        )
    try:
        endpoint = serverFromString(reactor, description)
    except (ValueError, TypeError, KeyError) as e:
        raise InvalidWorkerListener(f"{description!r} is not a valid endpoint: {e}") from None
    family = socket.AF_INET6 if isinstance(endpoint, TCP6ServerEndpoint) else socket.AF_INET
    # Twisted keeps the parsed parts in private attributes (checked with
    # Twisted 26.10).
    return ReusePortEndpoint(
        reactor,
        family,
        endpoint._port,  # type: ignore[attr-defined]
        endpoint._interface,  # type: ignore[attr-defined]
        endpoint._backlog,  # type: ignore[attr-defined]
    )


def workerLogFile(logFile: Optional[str], index: int) -> str:
    """
    Choose where worker C{index} logs, given worker 0's twistd log file.

    @param logFile: Worker 0's C{--logfile}, or C{None} or C{"-"} when it
        logs to standard output.
    @return: C{"-"} (the standard output every worker shares) or a file
        beside worker 0's, such as C{mailfront-worker1.log}. Each worker has
        its own file because twistd rotates log files, and two processes
        rotating one file lose lines.
    """
    if not logFile or logFile == "-":
        return "-"
    base, extension = os.path.splitext(logFile)
    return f"{base}-worker{index}{extension}"


class _WorkerProtocol(ProcessProtocol):
    """
    Worker 0's view of one started worker.
    """

    def __init__(self, launcher: "WorkerLauncher", index: int) -> None:
        self.launcher = launcher
        self.index = index
        self.ended: defer.Deferred[None] = defer.Deferred()

    def childDataReceived(self, childFD: int, data: bytes) -> None:
        if childFD == READY_FD and data.startswith(b"ready"):
            log.info(
                "Worker {worker} of {workers} is serving, pid {pid}",
                worker=self.index,
                workers=self.launcher.count,
                pid=self.transport.pid,  # type: ignore[union-attr]
            )

    def processEnded(self, reason: Failure) -> None:
        if not self.launcher.stopping:
            status = reason.value.exitCode if reason.check(ProcessDone) is None else 0
            log.error(
                "Worker {worker} exited unexpectedly (exit status {status}); the other "
                "workers go on serving",
                worker=self.index,
                status=status,
            )
        self.ended.callback(None)


class WorkerLauncher(Service):
    """
    Starts and stops workers 1 to C{count - 1}; runs in worker 0.

    @ivar arguments: The C{twistd mailfront} options of worker 0, which every
        worker gets, with C{--worker-index} added.
    @ivar logFile: Worker 0's twistd log file, or C{None} for standard
        output; see L{workerLogFile}.
    """

    # TODO: a worker that exits is not restarted.

    def __init__(
        self,
        reactor: object,
        count: int,
        arguments: Sequence[str],
        logFile: Optional[str],
        holder: Optional[SnapshotHolder] = None,
    ) -> None:
        self._reactor = reactor
        self.count = count
        self.arguments = tuple(arguments)
        self.logFile = logFile
        self.stopping = False
        self._workers: list[_WorkerProtocol] = []
        if holder is not None:
            holder.addObserver(self._reloadWorkers)

    def _reloadWorkers(self, previous: Snapshot, current: Snapshot) -> None:
        """
        Send SIGHUP to every running worker after worker 0 swapped in a new
        snapshot.
        """
        for worker in self._workers:
            if worker.ended.called:
                continue
            transport: Any = worker.transport
            try:
                transport.signalProcess("HUP")
            except (ProcessExitedAlready, OSError) as e:
                log.warn(
                    "Could not tell worker {worker} to reload: {error}",
                    worker=worker.index,
                    error=e,
                )

    def commandFor(self, index: int) -> list[str]:
        """
        Build the command line of worker C{index}.
        """
        return [
            *TWISTD_FOREGROUND,
            "--logfile",
            workerLogFile(self.logFile, index),
            "mailfront",
            *self.arguments,
            "--worker-index",
            str(index),
        ]

    def startService(self) -> None:
        super().startService()
        self.stopping = False
        for index in range(1, self.count):
            worker = _WorkerProtocol(self, index)
            self._reactor.spawnProcess(  # type: ignore[attr-defined]
                worker,
                sys.executable,
                self.commandFor(index),
                env=dict(os.environ),
                path=os.getcwd(),
                childFDs={0: "w", 1: 1, 2: 2, READY_FD: "r"},
            )
            self._workers.append(worker)

    def stopService(self) -> defer.Deferred[None]:
        super().stopService()
        self.stopping = True
        waiting = [self._stopWorker(w) for w in self._workers if not w.ended.called]
        self._workers = []
        return defer.gatherResults(waiting).addCallback(lambda _: None)

    def _stopWorker(self, worker: _WorkerProtocol) -> defer.Deferred[None]:
        """
        Send SIGTERM to a worker, and SIGKILL if it is still running after
        L{STOP_TIMEOUT} seconds.
        """
        transport: Any = worker.transport
        transport.signalProcess("TERM")
        killer = self._reactor.callLater(  # type: ignore[attr-defined]
            STOP_TIMEOUT, transport.signalProcess, "KILL"
        )

        def cancelKiller(result: None) -> None:
            if killer.active():
                killer.cancel()

        worker.ended.addCallback(cancelKiller)
        return worker.ended


class _ParentWatch:
    """
    Stops the reactor when worker 0 closes this worker's standard input.
    """

    def __init__(self, reactor: object) -> None:
        self._reactor = reactor

    def childDataReceived(self, name: str, data: bytes) -> None:
        pass

    def childConnectionLost(self, name: str, reason: Failure) -> None:
        log.warn("Worker 0 is gone; this worker stops")
        self._reactor.stop()  # type: ignore[attr-defined]


class WorkerChild(Service):
    """
    Runs in workers 1 and up: reports to worker 0 that this worker listens, and
    stops this worker when worker 0 closes its standard input.

    It is added after the listeners, so it starts once they are bound.
    """

    def __init__(self, reactor: object) -> None:
        self._reactor = reactor

    def startService(self) -> None:
        super().startService()
        ProcessReader(self._reactor, _ParentWatch(self._reactor), "parent", 0)
        try:
            os.write(READY_FD, b"ready\n")
            os.close(READY_FD)
        except OSError as e:
            log.warn("Could not tell worker 0 that this worker serves: {error}", error=e)


def workerService(
    reactor: object,
    count: int,
    index: int,
    arguments: Sequence[str],
    logFile: Optional[str],
    holder: Optional[SnapshotHolder] = None,
) -> Service:
    """
    Build the service that manages the workers from this worker's side: a
    L{WorkerLauncher} in worker 0, a L{WorkerChild} in the others.

    @param holder: Worker 0's snapshots; each swap makes the other workers
        reload.
    """
    if index == 0:
        return WorkerLauncher(reactor, count, arguments, logFile, holder)
    return WorkerChild(reactor)
