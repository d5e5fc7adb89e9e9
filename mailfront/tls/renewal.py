"""
Keeping an ACME certificate for every registry domain: ordering what is
missing, renewing before expiry, retrying failures with backoff, and
following the domains of each new snapshot.

The work is scheduled on an injected clock, so tests drive it with
L{twisted.internet.task.Clock}; the network part is an issuer such as
L{mailfront.tls.acmeclient.AcmeIssuer}.
"""

from __future__ import annotations

import collections
from typing import Callable, Optional, Protocol, Sequence

import attrs
from twisted.application.service import Service
from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from ..snapshot import Snapshot, SnapshotHolder
from .acmeclient import AcmeFailure
from .pem import ServerCertificate
from .store import CertificateStore

__all__ = ["AcmeManager", "AcmeCounters", "DomainStatus", "Issuer", "retryDelay"]

#: Seconds before the first retry of a failed order. Each further failure
#: doubles the delay, up to L{RETRY_MAX}.
RETRY_FIRST = 300.0
RETRY_MAX = 86400.0

#: Minimum seconds before retrying after the ACME server reported a rate
#: limit.
RATE_LIMIT_DELAY = 3600.0


class Issuer(Protocol):
    """
    Obtains a certificate for a domain's names in one ACME order.
    """

    def issue(self, domain: str, names: Sequence[str]) -> Deferred[ServerCertificate]:
        """
        @return: A Deferred that fires with the stored and loaded
            certificate, or fails with L{AcmeFailure}.
        """


@attrs.define
class AcmeCounters:
    """
    Counts of ACME work since the process started, for metrics.

    @ivar ordersStarted: Orders sent to the ACME server.
    @ivar certificatesIssued: Orders that produced a certificate.
    @ivar ordersFailed: Orders that failed, whatever the reason.
    @ivar rateLimited: Failed orders that the server refused for a rate
        limit.
    """

    ordersStarted: int = 0
    certificatesIssued: int = 0
    ordersFailed: int = 0
    rateLimited: int = 0


@attrs.frozen
class DomainStatus:
    """
    Where one domain's certificate stands.

    @ivar names: The host names ordered for the domain.
    @ivar failures: Failed orders since the last success.
    @ivar lastError: The reason of the last failure, if the last order failed.
    @ivar nextCheck: When the domain is checked next, in seconds since the
        epoch, or C{None} while it waits for or runs an order.
    """

    names: tuple[str, ...]
    failures: int
    lastError: Optional[str]
    nextCheck: Optional[float]


@attrs.define
class _Domain:
    names: tuple[str, ...]
    failures: int = 0
    lastError: Optional[str] = None
    timer: Optional[IDelayedCall] = None

    def cancel(self) -> None:
        if self.timer is not None and self.timer.active():
            self.timer.cancel()
        self.timer = None


def retryDelay(failures: int, rateLimited: bool) -> float:
    """
    Return the seconds to wait after the C{failures}-th failure in a row.
    """
    delay = min(RETRY_FIRST * 2 ** (failures - 1), RETRY_MAX)
    if rateLimited:
        delay = max(delay, RATE_LIMIT_DELAY)
    return delay


class AcmeManager(Service):
    """
    Obtains and renews the certificates of every domain of the current
    snapshot, one order at a time.

    A domain needs an order when some of its host names has no certificate
    in the snapshot's store, or when the earliest of their certificates has
    reached its renewal time (one third of its lifetime left). A
    certificate from the certificate directory counts, so names the
    operator covers are not ordered. A new certificate is put into service
    by swapping in a snapshot whose store contains it.

    @ivar counters: Counts for metrics.
    """

    log = Logger()

    def __init__(
        self,
        holder: SnapshotHolder,
        issuer: Issuer,
        clock: IReactorTime,
        hostNames: Callable[[str], Sequence[str]],
        orderInterval: float,
    ) -> None:
        """
        @param hostNames: Return the host names to order for a domain.
        @param orderInterval: Minimum seconds between the starts of two
            orders.
        """
        self._holder = holder
        self._issuer = issuer
        self._clock = clock
        self._hostNames = hostNames
        self._orderInterval = orderInterval
        self.counters = AcmeCounters()
        self._domains: dict[str, _Domain] = {}
        self._issued: dict[str, ServerCertificate] = {}
        self._queue: collections.deque[str] = collections.deque()
        self._inFlight: Optional[str] = None
        self._nextOrderAt = 0.0
        self._pumpCall: Optional[IDelayedCall] = None
        holder.addObserver(self._snapshotChanged)

    # Service -----------------------------------------------------------------

    def startService(self) -> None:
        super().startService()
        self._synchronize(self._holder.current)
        self.log.info(
            "ACME: watching {domains} domains, {queued} need a certificate now",
            domains=len(self._domains),
            queued=len(self._queue) + (self._inFlight is not None),
        )

    def stopService(self) -> Optional[Deferred[None]]:
        for state in self._domains.values():
            state.cancel()
        self._domains.clear()
        self._queue.clear()
        if self._pumpCall is not None and self._pumpCall.active():
            self._pumpCall.cancel()
        return super().stopService()

    # Reading the state -------------------------------------------------------

    def status(self) -> dict[str, DomainStatus]:
        """
        Return the state of every domain, by domain.
        """
        return {
            domain: DomainStatus(
                names=state.names,
                failures=state.failures,
                lastError=state.lastError,
                nextCheck=state.timer.getTime() if state.timer and state.timer.active() else None,
            )
            for domain, state in self._domains.items()
        }

    def failingDomains(self) -> int:
        """
        Count the domains whose last order failed.
        """
        return sum(1 for state in self._domains.values() if state.failures)

    # Following the configuration ---------------------------------------------

    def _snapshotChanged(self, previous: Snapshot, current: Snapshot) -> None:
        if not self.running:
            return
        if previous.registry is not current.registry:
            self._synchronize(current)
        self._restoreIssued(current)

    def _synchronize(self, snapshot: Snapshot) -> None:
        wanted = {
            domain: tuple(self._hostNames(domain)) for domain in snapshot.registry.domains
        }
        for domain in list(self._domains):
            if domain not in wanted:
                self._domains.pop(domain).cancel()
                self._issued.pop(domain, None)
                self.log.info(
                    "ACME: stopped renewing the certificate of {domain}, which left "
                    "the configuration",
                    domain=domain,
                )
        store = _store(snapshot)
        for domain, names in wanted.items():
            state = self._domains.get(domain)
            if state is not None and state.names == names:
                continue
            if state is not None:
                state.cancel()
            self._domains[domain] = _Domain(names)
            self._check(domain, store)

    def _restoreIssued(self, current: Snapshot) -> None:
        """
        Put back certificates that a snapshot built concurrently with an
        order does not contain yet.
        """
        store = _store(current)
        stale = []
        for domain, certificate in self._issued.items():
            inStore = store.acme.get(domain)
            if inStore is None or inStore.notAfter < certificate.notAfter:
                stale.append(domain)
        if stale:
            self._clock.callLater(0, self._reinstall, stale)

    def _reinstall(self, domains: list[str]) -> None:
        current = self._holder.current
        store = _store(current)
        for domain in domains:
            certificate = self._issued.get(domain)
            if certificate is not None:
                store = store.withAcme(domain, certificate)
        self._holder.swap(attrs.evolve(current, certificates=store))

    # Scheduling --------------------------------------------------------------

    def _check(self, domain: str, store: CertificateStore) -> None:
        state = self._domains[domain]
        renewals = []
        for name in state.names:
            certificate = store.match(name)
            if certificate is None:
                self._enqueue(domain)
                return
            renewals.append(certificate.renewalTime().timestamp())
        delay = min(renewals) - self._clock.seconds()
        if delay <= 0:
            self._enqueue(domain)
            return
        state.timer = self._clock.callLater(delay, self._due, domain)

    def _due(self, domain: str) -> None:
        if domain in self._domains:
            self._domains[domain].timer = None
            self._check(domain, _store(self._holder.current))

    def _enqueue(self, domain: str) -> None:
        if domain not in self._queue:
            self._queue.append(domain)
        self._pump()

    def _pump(self) -> None:
        if not self.running or self._inFlight is not None:
            return
        while self._queue and self._queue[0] not in self._domains:
            self._queue.popleft()
        if not self._queue:
            return
        wait = self._nextOrderAt - self._clock.seconds()
        if wait > 0:
            if self._pumpCall is None or not self._pumpCall.active():
                self._pumpCall = self._clock.callLater(wait, self._pump)
            return
        self._start(self._queue.popleft())

    # Orders ------------------------------------------------------------------

    def _start(self, domain: str) -> None:
        names = self._domains[domain].names
        self._inFlight = domain
        self.counters.ordersStarted += 1
        self.log.info(
            "ACME: ordering a certificate for {names}", domain=domain, names=", ".join(names)
        )
        result = maybeDeferred(self._issuer.issue, domain, names)
        result.addCallbacks(
            self._succeeded,
            self._failed,
            callbackArgs=(domain, names),
            errbackArgs=(domain, names),
        )
        result.addBoth(self._finished)

    def _current(self, domain: str, names: tuple[str, ...]) -> Optional[_Domain]:
        state = self._domains.get(domain)
        if not self.running or state is None or state.names != names:
            return None
        return state

    def _succeeded(
        self, certificate: ServerCertificate, domain: str, names: tuple[str, ...]
    ) -> None:
        self.counters.certificatesIssued += 1
        state = self._current(domain, names)
        if state is None:
            self.log.info(
                "ACME: not using the new certificate of {domain}, whose names changed "
                "or which left the configuration during the order",
                domain=domain,
            )
            return
        state.failures = 0
        state.lastError = None
        self._issued[domain] = certificate
        self._reinstall([domain])
        self.log.info(
            "ACME: obtained a certificate for {domain}, valid until {notAfter}",
            domain=domain,
            notAfter=certificate.notAfter.isoformat(),
        )
        delay = certificate.renewalTime().timestamp() - self._clock.seconds()
        state.timer = self._clock.callLater(max(delay, 0), self._due, domain)

    def _failed(self, failure: Failure, domain: str, names: tuple[str, ...]) -> None:
        self.counters.ordersFailed += 1
        rateLimited = False
        if failure.check(AcmeFailure):
            reason = failure.value.reason
            rateLimited = failure.value.rateLimited
        else:
            reason = f"unexpected {failure.type.__name__}: {failure.value}"
            self.log.failure("ACME: unexpected error in the order for {domain}", failure, domain=domain)
        if rateLimited:
            self.counters.rateLimited += 1
        state = self._current(domain, names)
        if state is None:
            return
        state.failures += 1
        state.lastError = reason
        delay = retryDelay(state.failures, rateLimited)
        self.log.warn(
            "ACME: the order for {domain} failed ({failures} in a row): {reason}; "
            "next attempt in {delay} seconds",
            domain=domain,
            failures=state.failures,
            reason=reason,
            delay=round(delay),
        )
        state.timer = self._clock.callLater(delay, self._due, domain)

    def _finished(self, ignored: object) -> None:
        self._inFlight = None
        self._nextOrderAt = self._clock.seconds() + self._orderInterval
        self._pump()


def _store(snapshot: Snapshot) -> CertificateStore:
    store = snapshot.certificates
    if store is None:
        raise RuntimeError("the snapshot has no certificate store; build it with certificates")
    return store
