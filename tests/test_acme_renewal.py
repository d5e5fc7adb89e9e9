"""
Tests for L{AcmeManager}: when certificates are ordered, renewed and
retried, driven by a L{Clock} and an issuer whose orders the test completes.
"""

from __future__ import annotations

import datetime
import os
from typing import Sequence

import attrs
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from mailfront.registry import DomainEntry, Provider, Registry
from mailfront.snapshot import SnapshotHolder, buildSnapshot
from mailfront.tls import CertificateSources, CertificateStore, KeyPair, loadServerCertificate
from mailfront.tls.acmeclient import AcmeFailure
from mailfront.tls.pem import ServerCertificate
from mailfront.tls.renewal import RATE_LIMIT_DELAY, RETRY_FIRST, AcmeManager, retryDelay

from .certificates import NOW, TestAuthority, writePEM

DAY = 86400.0
SOURCES = CertificateSources()


def _registry(*domains: str) -> Registry:
    provider = Provider(id="p")
    return Registry(
        providers={"p": provider}, domains={d: DomainEntry(d, provider) for d in domains}
    )


class FakeIssuer:
    """
    Records orders and lets the test complete each one.
    """

    def __init__(self) -> None:
        self.orders: list[tuple[str, tuple[str, ...], Deferred[ServerCertificate]]] = []

    def issue(self, domain: str, names: Sequence[str]) -> Deferred[ServerCertificate]:
        result: Deferred[ServerCertificate] = Deferred()
        self.orders.append((domain, tuple(names), result))
        return result

    def domains(self) -> list[str]:
        return [domain for domain, _, _ in self.orders]


class AcmeManagerTests(SynchronousTestCase):
    """
    Tests for ordering, renewing and retrying.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.clock.advance(NOW.timestamp())
        self.directory = self.mktemp()
        os.makedirs(self.directory)
        self.authority = TestAuthority(NOW)
        self.default = self.certificate(["default.invalid"])
        self.issuer = FakeIssuer()

    def certificate(self, names: list[str], lifetime: float = 90 * DAY) -> ServerCertificate:
        notBefore = datetime.datetime.fromtimestamp(self.clock.seconds(), datetime.timezone.utc)
        issued = self.authority.issue(
            names, notBefore=notBefore, notAfter=notBefore + datetime.timedelta(seconds=lifetime)
        )
        stem = os.path.join(self.directory, f"{names[0]}-{len(os.listdir(self.directory))}")
        pair = KeyPair(
            writePEM(stem + ".pem", self.authority.fullchain(issued)),
            writePEM(stem + ".key", issued.keyPEM()),
        )
        return loadServerCertificate(pair, notBefore)

    def start(
        self, registry: Registry, store: CertificateStore | None = None, interval: float = 0
    ) -> AcmeManager:
        store = store or CertificateStore(self.default)
        self.holder = SnapshotHolder(buildSnapshot(registry, 1, certificates=store))
        manager = AcmeManager(self.holder, self.issuer, self.clock, SOURCES.hostNames, interval)
        manager.startService()
        self.addCleanup(manager.stopService)
        return manager

    def succeed(self, index: int, lifetime: float = 90 * DAY) -> ServerCertificate:
        _, names, result = self.issuer.orders[index]
        certificate = self.certificate(list(names), lifetime)
        result.callback(certificate)
        return certificate

    def reject(
        self, index: int, reason: str = "urn:ietf:params:acme:error:connection", rateLimited: bool = False
    ) -> None:
        self.issuer.orders[index][2].errback(AcmeFailure(reason, rateLimited))

    def test_ordersMissingBatched(self) -> None:
        """
        Each domain without a certificate gets one order for all its names,
        one order at a time.
        """
        self.start(_registry("one.example", "two.example"))
        self.assertEqual(
            [(d, n) for d, n, _ in self.issuer.orders],
            [("one.example", ("autoconfig.one.example", "autodiscover.one.example"))],
        )
        self.succeed(0)
        self.assertEqual(self.issuer.domains(), ["one.example", "two.example"])

    def test_successInstalls(self) -> None:
        """
        An issued certificate is served at once through a new snapshot.
        """
        manager = self.start(_registry("one.example"))
        certificate = self.succeed(0)
        store = self.holder.current.certificates
        assert store is not None
        self.assertIs(store.select("autoconfig.one.example"), certificate)
        self.assertIs(store.select("autodiscover.one.example"), certificate)
        self.assertEqual(manager.counters.certificatesIssued, 1)
        self.assertEqual(manager.counters.ordersStarted, 1)

    def test_renewsAtTwoThirds(self) -> None:
        """
        Renewal is ordered when one third of the certificate's lifetime is
        left, and not before.
        """
        self.start(_registry("one.example"))
        self.succeed(0, lifetime=90 * DAY)
        self.clock.advance(60 * DAY - 1)
        self.assertEqual(len(self.issuer.orders), 1)
        self.clock.advance(1)
        self.assertEqual(self.issuer.domains(), ["one.example", "one.example"])

    def test_existingCertificateNotOrdered(self) -> None:
        """
        A domain whose names are covered, here by a wildcard from the
        certificate directory, gets no order until its renewal time.
        """
        wildcard = self.certificate(["*.one.example"], lifetime=30 * DAY)
        self.start(_registry("one.example"), CertificateStore(self.default, [wildcard]))
        self.assertEqual(self.issuer.orders, [])
        self.clock.advance(20 * DAY)
        self.assertEqual(self.issuer.domains(), ["one.example"])

    def test_partlyCoveredOrdered(self) -> None:
        """
        A domain with only some names covered orders all of them.
        """
        partial = self.certificate(["autoconfig.one.example"])
        self.start(_registry("one.example"), CertificateStore(self.default, [partial]))
        self.assertEqual(self.issuer.domains(), ["one.example"])

    def test_failureBackoff(self) -> None:
        """
        Failed orders are retried after 5 minutes, then twice as long each
        time, and the status shows the ACME error.
        """
        manager = self.start(_registry("one.example"))
        delays = []
        for attempt in range(4):
            self.reject(attempt, "urn:ietf:params:acme:error:unauthorized :: wrong token")
            status = manager.status()["one.example"]
            assert status.nextCheck is not None
            delays.append(status.nextCheck - self.clock.seconds())
            self.assertEqual(status.failures, attempt + 1)
            self.assertIn("wrong token", status.lastError or "")
            self.clock.advance(delays[-1] - 1)
            self.assertEqual(len(self.issuer.orders), attempt + 1)
            self.clock.advance(1)
            self.assertEqual(len(self.issuer.orders), attempt + 2)
        self.assertEqual(delays, [RETRY_FIRST, 2 * RETRY_FIRST, 4 * RETRY_FIRST, 8 * RETRY_FIRST])
        self.assertEqual(manager.counters.ordersFailed, 4)
        self.assertEqual(manager.failingDomains(), 1)
        self.succeed(4)
        self.assertEqual(manager.status()["one.example"].failures, 0)
        self.assertEqual(manager.failingDomains(), 0)

    def test_retryDelayLimits(self) -> None:
        """
        The retry delay stops growing at a day, and a rate limit waits at
        least an hour.
        """
        self.assertEqual(retryDelay(1, False), RETRY_FIRST)
        self.assertEqual(retryDelay(30, False), DAY)
        self.assertEqual(retryDelay(1, True), RATE_LIMIT_DELAY)

    def test_rateLimited(self) -> None:
        """
        A rate-limit error is counted and retried after an hour.
        """
        manager = self.start(_registry("one.example"))
        self.reject(0, "urn:ietf:params:acme:error:rateLimited :: too many", rateLimited=True)
        self.assertEqual(manager.counters.rateLimited, 1)
        self.clock.advance(RATE_LIMIT_DELAY - 1)
        self.assertEqual(len(self.issuer.orders), 1)
        self.clock.advance(1)
        self.assertEqual(len(self.issuer.orders), 2)

    def test_failureIsolated(self) -> None:
        """
        One domain's failure does not stop the next domain's order.
        """
        self.start(_registry("one.example", "two.example"))
        self.reject(0)
        self.assertEqual(self.issuer.domains(), ["one.example", "two.example"])
        certificate = self.succeed(1)
        store = self.holder.current.certificates
        assert store is not None
        self.assertIs(store.select("autoconfig.two.example"), certificate)

    def test_unexpectedErrorRetried(self) -> None:
        """
        An unexpected exception is logged, counted and retried like any
        failure.
        """
        manager = self.start(_registry("one.example"))
        self.issuer.orders[0][2].errback(ZeroDivisionError("bug"))
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)
        self.assertEqual(manager.counters.ordersFailed, 1)
        self.clock.advance(RETRY_FIRST)
        self.assertEqual(len(self.issuer.orders), 2)

    def test_orderInterval(self) -> None:
        """
        Orders start at least the configured interval apart.
        """
        self.start(_registry("one.example", "two.example"), interval=36)
        self.succeed(0)
        self.assertEqual(len(self.issuer.orders), 1)
        self.clock.advance(35)
        self.assertEqual(len(self.issuer.orders), 1)
        self.clock.advance(1)
        self.assertEqual(self.issuer.domains(), ["one.example", "two.example"])

    def test_newDomainAfterSwap(self) -> None:
        """
        A domain added by a reload gets a certificate without a restart.
        """
        self.start(_registry("one.example"))
        self.succeed(0)
        current = self.holder.current
        self.holder.swap(attrs.evolve(current, registry=_registry("one.example", "new.example")))
        self.assertEqual(self.issuer.domains(), ["one.example", "new.example"])

    def test_removedDomainStops(self) -> None:
        """
        A domain removed by a reload is no longer renewed, and an order
        running when it was removed is not installed.
        """
        manager = self.start(_registry("one.example", "two.example"))
        self.succeed(0)
        self.holder.swap(attrs.evolve(self.holder.current, registry=_registry("two.example")))
        self.assertEqual(set(manager.status()), {"two.example"})
        self.holder.swap(attrs.evolve(self.holder.current, registry=_registry()))
        self.succeed(1)
        store = self.holder.current.certificates
        assert store is not None
        self.assertIsNone(store.match("autoconfig.two.example"))
        self.clock.advance(365 * DAY)
        self.assertEqual(self.issuer.domains(), ["one.example", "two.example"])

    def test_concurrentReloadKeepsIssued(self) -> None:
        """
        A snapshot built from files read before an order finished does not
        take the new certificate away.
        """
        self.start(_registry("one.example"))
        stale = self.holder.current
        certificate = self.succeed(0)
        self.holder.swap(attrs.evolve(stale, generation=2))
        self.clock.advance(0)
        store = self.holder.current.certificates
        assert store is not None
        self.assertIs(store.select("autoconfig.one.example"), certificate)
        self.assertEqual(self.holder.current.generation, 2)

    def test_stopCancelsTimers(self) -> None:
        """
        Stopping the service cancels every scheduled check.
        """
        manager = self.start(_registry("one.example"))
        self.succeed(0)
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        manager.stopService()
        self.assertEqual(self.clock.getDelayedCalls(), [])
