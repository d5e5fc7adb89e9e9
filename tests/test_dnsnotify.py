"""
Tests of DNS NOTIFY and of the DNS service wiring, in memory.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from twisted.internet.testing import FakeDatagramTransport, MemoryReactorClock
from twisted.logger import Logger, globalLogPublisher
from twisted.names import dns
from twisted.trial.unittest import SynchronousTestCase

from mailfront.dns.notify import ATTEMPTS, FIRST_TIMEOUT, MAX_IN_FLIGHT, Notifier, NotifyProtocol
from mailfront.dns.service import SERIAL_FILE, UDP_READ_SIZE, makeDnsService
from mailfront.registry import NotifyTarget, loadDirectory
from mailfront.snapshot import SnapshotHolder, buildSnapshot

from .running import EXAMPLE_CONFIG

NOW = 1796400000
SECONDARY = NotifyTarget("127.0.0.1", 5300)


class FakeUDPPort:
    """
    What L{FakeReactor.listenUDP} returns.
    """

    def __init__(self, protocol: Any, port: int, interface: str, maxPacketSize: int) -> None:
        self.protocol = protocol
        self.port = port
        self.interface = interface
        self.maxPacketSize = maxPacketSize
        self.transport = FakeDatagramTransport()
        self.listening = True
        protocol.makeConnection(self.transport)

    def stopListening(self) -> None:
        self.listening = False
        self.protocol.doStop()


class FakeReactor(MemoryReactorClock):
    """
    C{MemoryReactorClock} with the UDP listening it lacks.
    """

    def __init__(self) -> None:
        super().__init__()
        self.udpPorts: list[FakeUDPPort] = []

    def listenUDP(
        self, port: int, protocol: Any, interface: str = "", maxPacketSize: int = 8192
    ) -> FakeUDPPort:
        udpPort = FakeUDPPort(protocol, port, interface, maxPacketSize)
        self.udpPorts.append(udpPort)
        return udpPort


def sent(transport: FakeDatagramTransport) -> list[tuple[dns.Message, Any]]:
    """
    Decode every datagram written to a transport.
    """
    messages = []
    for payload, address in transport.written:
        message = dns.Message()
        message.fromStr(payload)
        messages.append((message, address))
    return messages


def acknowledge(
    protocol: NotifyProtocol, message: dns.Message, address: Any, rCode: int = dns.OK
) -> None:
    """
    Deliver a secondary's response to a NOTIFY.
    """
    response = dns.Message(
        id=message.id, answer=1, opCode=dns.OP_NOTIFY, auth=1, rCode=rCode, maxSize=0
    )
    response.queries = message.queries
    protocol.datagramReceived(response.toStr(), address)


class NotifierTests(SynchronousTestCase):
    """
    The NOTIFY queue.
    """

    def setUp(self) -> None:
        self.reactor = FakeReactor()
        self.targets = [SECONDARY]
        self.events: list[dict[str, Any]] = []
        self.notifier = Notifier(self.reactor, lambda family: self.protocol, lambda: self.targets)
        self.notifier.log = Logger(observer=self.events.append)  # type: ignore[misc]
        self.protocol = NotifyProtocol(self.notifier, reactor=self.reactor)
        self.port = self.reactor.listenUDP(0, self.protocol, "127.0.0.1")

    def test_message(self) -> None:
        """
        A NOTIFY goes to the secondary as opcode 4 with AA set, RD clear, and
        the zone's SOA question.
        """
        self.notifier.notify(["_tcp.example.com."])
        [(message, address)] = sent(self.port.transport)
        self.assertEqual(address, ("127.0.0.1", 5300))
        self.assertEqual(
            (message.answer, message.opCode, message.auth, message.recDes), (0, dns.OP_NOTIFY, 1, 0)
        )
        self.assertEqual(message.queries, [dns.Query(b"_tcp.example.com", dns.SOA, dns.IN)])

    def test_acknowledged(self) -> None:
        """
        A response ends the NOTIFY and is logged; nothing is sent again.
        """
        self.notifier.notify(["_tcp.example.com."])
        [(message, address)] = sent(self.port.transport)
        acknowledge(self.protocol, message, address)
        self.reactor.advance(FIRST_TIMEOUT * 10)
        self.assertEqual(len(self.port.transport.written), 1)
        self.assertEqual(self.notifier.pending, 0)
        self.assertEqual([event.get("zone") for event in self.events], ["_tcp.example.com."])

    def test_rejected(self) -> None:
        """
        An error response is logged with its RCODE and not retried.
        """
        self.notifier.notify(["_tcp.example.com."])
        [(message, address)] = sent(self.port.transport)
        acknowledge(self.protocol, message, address, dns.EREFUSED)
        self.reactor.advance(FIRST_TIMEOUT * 10)
        self.assertEqual(len(self.port.transport.written), 1)
        self.assertEqual([event.get("rcode") for event in self.events], [dns.EREFUSED])

    def test_retries(self) -> None:
        """
        Without a response, the NOTIFY is sent again with a doubled timeout,
        L{ATTEMPTS} times in all, then given up with a warning.
        """
        self.notifier.notify(["_tcp.example.com."])
        for attempt in range(1, ATTEMPTS):
            self.assertEqual(len(self.port.transport.written), attempt)
            self.reactor.advance(FIRST_TIMEOUT * 2 ** (attempt - 1))
        self.assertEqual(len(self.port.transport.written), ATTEMPTS)
        self.reactor.advance(FIRST_TIMEOUT * 2 ** (ATTEMPTS - 1))
        self.assertEqual(len(self.port.transport.written), ATTEMPTS)
        self.assertEqual(self.notifier.pending, 0)
        self.assertEqual([event.get("attempts") for event in self.events], [ATTEMPTS])

    def test_responseFromElsewhere(self) -> None:
        """
        A response from another address does not count.
        """
        self.notifier.notify(["_tcp.example.com."])
        [(message, _)] = sent(self.port.transport)
        acknowledge(self.protocol, message, ("127.0.0.9", 5300))
        self.reactor.advance(FIRST_TIMEOUT)
        self.assertEqual(len(self.port.transport.written), 2)

    def test_limitInFlight(self) -> None:
        """
        At most L{MAX_IN_FLIGHT} NOTIFY messages wait for a response; the
        rest follow as responses arrive, and a zone queued twice is sent
        once.
        """
        zones = [f"_tcp.d{index}.example." for index in range(MAX_IN_FLIGHT + 4)]
        self.notifier.notify(zones)
        self.notifier.notify(zones[-1:])
        self.assertEqual(len(self.port.transport.written), MAX_IN_FLIGHT)
        for message, address in sent(self.port.transport):
            acknowledge(self.protocol, message, address)
        names = [message.queries[0].name.name for message, _ in sent(self.port.transport)]
        self.assertEqual(names, [zone.rstrip(".").encode() for zone in zones])

    def test_targetsReadWhenQueued(self) -> None:
        """
        Every secondary gets each zone.
        """
        self.targets = [SECONDARY, NotifyTarget("127.0.0.2", 53)]
        self.notifier.notify(["_tcp.example.com."])
        self.assertEqual(
            [address for _, address in sent(self.port.transport)],
            [("127.0.0.1", 5300), ("127.0.0.2", 53)],
        )


def notifyConfig(testCase: SynchronousTestCase, imapPort: int = 993) -> str:
    """
    Copy the example configuration with a secondary to notify and a chosen
    port for the first IMAP server.
    """
    directory = testCase.mktemp()
    shutil.copytree(EXAMPLE_CONFIG, directory)
    dnsPath = os.path.join(directory, "dns.toml")
    with open(dnsPath, encoding="utf-8") as f:
        text = f.read()
    with open(dnsPath, "w", encoding="utf-8") as f:
        f.write(
            text.replace(
                '# notify = ["192.0.2.53", "[2001:db8::53]:53"]', 'notify = ["127.0.0.1:5300"]'
            )
        )
    hostingPath = os.path.join(directory, "hosting.toml")
    with open(hostingPath, encoding="utf-8") as f:
        text = f.read()
    with open(hostingPath, "w", encoding="utf-8") as f:
        f.write(text.replace("port = 993", f"port = {imapPort}", 1))
    return directory


class DnsServiceTests(SynchronousTestCase):
    """
    The DNS service: listeners, serials and NOTIFY after a swap.
    """

    def setUp(self) -> None:
        self.reactor = FakeReactor()
        self.reactor.advance(NOW)
        self.directory = notifyConfig(self)
        self.state = self.mktemp()
        self.holder = SnapshotHolder(buildSnapshot(loadDirectory(self.directory), 1))
        self.service = makeDnsService(self.holder, self.reactor, 5353, "127.0.0.1", self.state)

    def notifyPort(self) -> FakeUDPPort:
        """
        The IPv4 NOTIFY socket.
        """
        [port] = [p for p in self.reactor.udpPorts if p.port == 0 and p.interface == "127.0.0.1"]
        return port

    def notifyTransport(self) -> FakeDatagramTransport:
        return self.notifyPort().transport

    def acknowledgeAll(self) -> None:
        """
        Acknowledge every NOTIFY sent so far, and forget them.
        """
        port = self.notifyPort()
        messages = sent(port.transport)
        # Clear first: each acknowledgement lets a queued NOTIFY go out at once.
        port.transport.written.clear()
        for message, address in messages:
            acknowledge(port.protocol, message, address)

    def drainNotify(self) -> list[bytes]:
        """
        Acknowledge every NOTIFY, including those queued behind the limit of
        messages waiting at once, and return the zone names in send order.
        """
        names: list[bytes] = []
        while sent(self.notifyTransport()):
            names.extend(m.queries[0].name.name for m, _ in sent(self.notifyTransport()))
            self.acknowledgeAll()
        return names

    def test_bindsWhenPrivileged(self) -> None:
        """
        UDP and TCP listen on the same port and interface as soon as the
        privileged start runs, before privileges could be dropped.
        """
        self.service.privilegedStartService()
        [udp] = self.reactor.udpPorts
        self.assertEqual(
            (udp.port, udp.interface, udp.maxPacketSize), (5353, "127.0.0.1", UDP_READ_SIZE)
        )
        [(port, _, _, interface)] = self.reactor.tcpServers
        self.assertEqual((port, interface), (5353, "127.0.0.1"))

    def test_notifySockets(self) -> None:
        """
        A NOTIFY socket is opened only for the address family of a
        configured secondary (here IPv4), bound to the DNS interface, so no
        socket listens on every IPv6 address.
        """
        self.service.startService()
        self.addCleanup(self.service.stopService)
        bound = {(p.port, p.interface) for p in self.reactor.udpPorts}
        self.assertEqual(bound, {(5353, "127.0.0.1"), (0, "127.0.0.1")})

    def test_notifyAtFirstStart(self) -> None:
        """
        A first start (no state file) notifies the secondary of every zone.
        """
        self.service.startService()
        self.addCleanup(self.service.stopService)
        names = self.drainNotify()
        data = self.holder.current.dns
        origins = [o for d in sorted(data.templates) for o in data.zoneOrigins(d)]
        self.assertEqual(names, [origin.rstrip(".").encode() for origin in origins])
        self.assertEqual(len(names), 19)
        self.assertTrue(os.path.exists(os.path.join(self.state, SERIAL_FILE)))

    def test_noNotifyAtUnchangedRestart(self) -> None:
        """
        A restart with the zones unchanged sends no NOTIFY.
        """
        self.service.startService()
        self.service.stopService()
        holder = SnapshotHolder(buildSnapshot(loadDirectory(self.directory), 1))
        restarted = makeDnsService(holder, self.reactor, 5353, "127.0.0.1", self.state)
        notifyPorts = [p for p in self.reactor.udpPorts if p.port == 0]
        restarted.startService()
        self.addCleanup(restarted.stopService)
        # Without a NOTIFY to send, the restarted service opens no socket.
        self.assertEqual([p for p in self.reactor.udpPorts if p.port == 0], notifyPorts)

    def test_notifyAfterSwap(self) -> None:
        """
        Swapping in a snapshot built from a changed configuration gives the
        changed domains' zones a higher serial and notifies the secondary of
        exactly those zones.
        """
        self.service.startService()
        self.addCleanup(self.service.stopService)
        before = self.service.serials.serialOf("example.com")
        self.drainNotify()

        self.reactor.advance(30)
        changed = notifyConfig(self, imapPort=994)
        self.holder.swap(buildSnapshot(loadDirectory(changed), 2))

        after = self.service.serials.serialOf("example.com")
        self.assertEqual(after, before + 30)
        self.assertEqual(self.service.serials.serialOf("school.example"), before)
        names = sorted(self.drainNotify())
        domains = (
            "customer-one.example",
            "example.com",
            "example.net",
            "exchange-customer.example",
            "old-name.example",
            "xn--bcher-kva.example",
        )
        expected = sorted(
            f"{prefix}.{domain}".encode()
            for domain in domains
            for prefix in ("_tcp", "_smtp._tls", "_mta-sts")
        )
        self.assertEqual(names, expected)

    def test_noNotifyForEqualSwap(self) -> None:
        """
        Swapping in an equal configuration changes no serial and sends no
        NOTIFY.
        """
        self.service.startService()
        self.addCleanup(self.service.stopService)
        self.drainNotify()
        self.holder.swap(buildSnapshot(loadDirectory(self.directory), 2))
        self.assertEqual(self.notifyTransport().written, [])

    def test_stop(self) -> None:
        """
        Stopping closes the NOTIFY sockets.
        """
        self.service.startService()
        self.service.stopService()
        self.assertEqual([p.listening for p in self.reactor.udpPorts if p.port == 0], [False])


class StartupWarningTests(SynchronousTestCase):
    """
    Warnings about the configuration when the DNS service is built.
    """

    def test_hostInsideServedZone(self) -> None:
        """
        In the C{domain} layout, each SRV target under a served domain is
        logged, because resolvers would get NXDOMAIN for it. Here these are
        the calendar hosts of customer-one.example and the mail hosts of
        school.example.
        """
        directory = notifyConfig(self)
        with open(os.path.join(directory, "dns.toml"), encoding="utf-8") as f:
            text = f.read()
        with open(os.path.join(directory, "dns.toml"), "w", encoding="utf-8") as f:
            f.write(text.replace('zone-layout = "subdomains"', 'zone-layout = "domain"'))
        events: list[dict[str, Any]] = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        holder = SnapshotHolder(buildSnapshot(loadDirectory(directory), 1))
        makeDnsService(holder, FakeReactor(), 5353, "127.0.0.1", self.mktemp())
        self.assertEqual(
            [
                (event["owner"], event["target"], event["zone"])
                for event in events
                if "owner" in event
            ],
            [
                (
                    "_caldavs._tcp.customer-one.example.",
                    "dav.customer-one.example.",
                    "customer-one.example.",
                ),
                (
                    "_carddavs._tcp.customer-one.example.",
                    "dav.customer-one.example.",
                    "customer-one.example.",
                ),
                ("_imaps._tcp.school.example.", "imap.school.example.", "school.example."),
                ("_submission._tcp.school.example.", "smtp.school.example.", "school.example."),
            ],
        )
