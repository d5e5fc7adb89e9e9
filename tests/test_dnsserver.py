"""
Tests of DNS wire handling: UDP with a fake datagram transport, TCP with a
string transport.
"""

from __future__ import annotations

import struct
from typing import Optional

import attrs
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.task import Clock
from twisted.internet.testing import FakeDatagramTransport, StringTransport
from twisted.logger import Logger
from twisted.names import dns
from twisted.trial.unittest import SynchronousTestCase

from mailfront.dns.authority import Authority
from mailfront.dns.server import (
    CLASSIC_UDP_SIZE,
    EDNS_UDP_SIZE,
    MAX_QUERY_SIZE,
    TCP_IDLE_TIMEOUT,
    AuthorityDatagramProtocol,
    AuthorityServerFactory,
    AuthorityStreamProtocol,
    transferAllowed,
)
from mailfront.registry import Authentication, Registry, Server
from mailfront.snapshot import SnapshotHolder, buildSnapshot

from .test_dnsauthority import SERIAL, exampleRegistry

CLIENT = ("127.0.0.1", 40000)


def query(
    name: bytes,
    queryType: int,
    messageID: int = 4321,
    udpSize: Optional[int] = None,
    ednsVersion: int = 0,
) -> bytes:
    """
    Encode a query, with an OPT record when C{udpSize} is given.
    """
    message = dns.Message(id=messageID, recDes=1, maxSize=0)
    message.queries = [dns.Query(name, queryType, dns.IN)]
    if udpSize is not None:
        message.additional = [
            dns.RRHeader(
                name=b"",
                type=dns.OPT,
                cls=udpSize,
                ttl=ednsVersion << 16,
                payload=dns.UnknownRecord(b""),
            )
        ]
    return message.toStr()


def decode(data: bytes) -> dns.Message:
    """
    Decode a response.
    """
    message = dns.Message()
    message.fromStr(data)
    return message


def options(message: dns.Message) -> list[tuple[int, int]]:
    """
    The UDP size and flags field of each OPT record of a message.
    """
    return [(r.cls, r.ttl) for r in message.additional if r.type == dns.OPT]


def manyServersRegistry(count: int) -> Registry:
    """
    The example registry with C{count} IMAP servers for example.com, so that
    C{_imaps._tcp.example.com} has a large answer.
    """
    registry = exampleRegistry()
    entry = registry.domains["example.com"]
    servers = tuple(
        Server(
            "imap",
            f"imap{index:03d}.example-hosting.net",
            993,
            "SSL",
            (Authentication("password-cleartext"),),
        )
        for index in range(count)
    )
    provider = attrs.evolve(entry.provider, incoming=servers)
    domains = dict(registry.domains)
    domains["example.com"] = attrs.evolve(entry, provider=provider)
    return attrs.evolve(registry, domains=domains)


class Harness:
    """
    A factory over the example registry, with a UDP protocol on a fake
    transport.
    """

    def __init__(self, registry: Optional[Registry] = None) -> None:
        self.clock = Clock()
        self.holder = SnapshotHolder(buildSnapshot(registry or exampleRegistry(), 1))
        self.factory = AuthorityServerFactory(Authority(self.holder, lambda d: SERIAL), self.clock)
        self.udp = AuthorityDatagramProtocol(self.factory, reactor=self.clock)
        self.transport = FakeDatagramTransport()
        self.udp.makeConnection(self.transport)

    def udpExchange(self, data: bytes, client: tuple[str, int] = CLIENT) -> list[dns.Message]:
        """
        Send a datagram and decode every reply.
        """
        self.transport.written.clear()
        self.udp.datagramReceived(data, client)
        replies = []
        for payload, address in self.transport.written:
            assert address == client, address
            replies.append(decode(payload))
        return replies

    def tcpConnection(
        self, host: str = "127.0.0.1"
    ) -> tuple[AuthorityStreamProtocol, StringTransport]:
        """
        Connect a TCP client from C{host}.
        """
        peer = IPv6Address("TCP", host, 40000) if ":" in host else IPv4Address("TCP", host, 40000)
        protocol = self.factory.buildProtocol(peer)
        transport = StringTransport(peerAddress=peer)
        protocol.makeConnection(transport)
        return protocol, transport

    def tcpExchange(self, data: bytes, host: str = "127.0.0.1") -> list[dns.Message]:
        """
        Send one length-prefixed message over a new connection and decode
        every length-prefixed reply.
        """
        protocol, transport = self.tcpConnection(host)
        protocol.dataReceived(struct.pack("!H", len(data)) + data)
        return splitStream(transport.value())


def splitStream(stream: bytes) -> list[dns.Message]:
    """
    Decode the length-prefixed messages of a TCP stream.
    """
    replies = []
    while stream:
        (length,) = struct.unpack("!H", stream[:2])
        replies.append(decode(stream[2 : 2 + length]))
        stream = stream[2 + length :]
    return replies


class DatagramTests(SynchronousTestCase):
    """
    Queries over UDP.
    """

    def test_answer(self) -> None:
        """
        A query gets one response with the same id, QR and AA set, RA
        clear, the question, and the answer.
        """
        harness = Harness()
        [reply] = harness.udpExchange(query(b"_imaps._tcp.example.com", dns.SRV))
        self.assertEqual(
            (reply.id, reply.answer, reply.auth, reply.recAv, reply.rCode, reply.trunc),
            (4321, 1, 1, 0, dns.OK, 0),
        )
        self.assertEqual(reply.queries, [dns.Query(b"_imaps._tcp.example.com", dns.SRV, dns.IN)])
        self.assertEqual([r.payload.port for r in reply.answers], [993])

    def test_nxdomain(self) -> None:
        """
        NXDOMAIN carries the AA bit and the SOA record.
        """
        [reply] = Harness().udpExchange(query(b"nothing._tcp.example.com", dns.SRV))
        self.assertEqual((reply.rCode, reply.auth), (dns.ENAME, 1))
        self.assertEqual([r.type for r in reply.authority], [dns.SOA])

    def test_refused(self) -> None:
        """
        A name outside the served zones gets REFUSED without AA.
        """
        [reply] = Harness().udpExchange(query(b"www.example.org", dns.A))
        self.assertEqual((reply.rCode, reply.auth, reply.answers), (dns.EREFUSED, 0, []))

    def test_ednsEcho(self) -> None:
        """
        A query with EDNS gets an OPT record with version 0 and our UDP size.
        """
        [reply] = Harness().udpExchange(query(b"_imaps._tcp.example.com", dns.SRV, udpSize=4096))
        self.assertEqual(options(reply), [(EDNS_UDP_SIZE, 0)])
        [plain] = Harness().udpExchange(query(b"_imaps._tcp.example.com", dns.SRV))
        self.assertEqual(options(plain), [])

    def test_badVersion(self) -> None:
        """
        EDNS version 1 gets BADVERS: RCODE 0 in the header and 1 in the
        upper bits of the OPT record (RFC 6891).
        """
        [reply] = Harness().udpExchange(
            query(b"_imaps._tcp.example.com", dns.SRV, udpSize=1232, ednsVersion=1)
        )
        self.assertEqual(reply.rCode, 0)
        self.assertEqual(options(reply), [(EDNS_UDP_SIZE, 1 << 24)])
        self.assertEqual(reply.answers, [])

    def test_truncation(self) -> None:
        """
        An answer larger than 512 bytes (no EDNS) or than the client's EDNS
        size is replaced by an authoritative response with the TC bit, the
        question and no records, so the client retries over TCP.
        """
        harness = Harness(manyServersRegistry(40))
        for udpSize in (None, 512, 1232, 4096):
            data = query(b"_imaps._tcp.example.com", dns.SRV, udpSize=udpSize)
            harness.transport.written.clear()
            harness.udp.datagramReceived(data, CLIENT)
            [(payload, _)] = harness.transport.written
            reply = decode(payload)
            with self.subTest(udpSize=udpSize):
                limit = CLASSIC_UDP_SIZE if udpSize is None else min(udpSize, EDNS_UDP_SIZE)
                self.assertLessEqual(len(payload), limit)
                self.assertEqual((reply.trunc, reply.auth, reply.answers), (1, 1, []))
                self.assertEqual(len(reply.queries), 1)

    def test_fitsWithEdns(self) -> None:
        """
        An answer that fits the EDNS size is sent whole, over 512 bytes.
        """
        harness = Harness(manyServersRegistry(20))
        harness.udp.datagramReceived(
            query(b"_imaps._tcp.example.com", dns.SRV, udpSize=1232), CLIENT
        )
        [(payload, _)] = harness.transport.written
        reply = decode(payload)
        self.assertGreater(len(payload), CLASSIC_UDP_SIZE)
        self.assertEqual((reply.trunc, len(reply.answers)), (0, 20))

    def test_malformed(self) -> None:
        """
        A message with a readable header but a broken body gets FORMERR
        with the same id and no question.
        """
        data = query(b"_imaps._tcp.example.com", dns.SRV)
        broken = data[:12] + b"\x3f" + data[13:20]
        [reply] = Harness().udpExchange(broken)
        self.assertEqual(
            (reply.id, reply.answer, reply.rCode, reply.queries), (4321, 1, dns.EFORMAT, [])
        )

    def test_shortDatagram(self) -> None:
        """
        A datagram shorter than a header is dropped.
        """
        self.assertEqual(Harness().udpExchange(b"\x12\x34\x01"), [])

    def test_response(self) -> None:
        """
        A response message is never answered, so two servers cannot loop.
        """
        message = dns.Message(id=1, answer=1, maxSize=0)
        message.queries = [dns.Query(b"_imaps._tcp.example.com", dns.SRV)]
        self.assertEqual(Harness().udpExchange(message.toStr()), [])
        broken = message.toStr()[:14]
        self.assertEqual(Harness().udpExchange(broken), [])

    def test_questionCount(self) -> None:
        """
        A query with no question, or two, gets FORMERR.
        """
        for names in ([], [b"_imaps._tcp.example.com", b"_imap._tcp.example.com"]):
            message = dns.Message(id=7, maxSize=0)
            message.queries = [dns.Query(name, dns.SRV) for name in names]
            [reply] = Harness().udpExchange(message.toStr())
            with self.subTest(count=len(names)):
                self.assertEqual((reply.id, reply.answer, reply.rCode), (7, 1, dns.EFORMAT))

    def test_twoOptRecords(self) -> None:
        """
        A query with two OPT records gets FORMERR (RFC 6891).
        """
        message = decode(query(b"_imaps._tcp.example.com", dns.SRV, udpSize=1232))
        message.additional = message.additional * 2
        message.maxSize = 0
        [reply] = Harness().udpExchange(message.toStr())
        self.assertEqual(reply.rCode, dns.EFORMAT)

    def test_otherOpcodes(self) -> None:
        """
        NOTIFY, UPDATE, STATUS and IQUERY messages get NOTIMP as a proper
        response with QR set.
        """
        for opCode in (dns.OP_NOTIFY, dns.OP_UPDATE, dns.OP_STATUS, dns.OP_INVERSE):
            message = dns.Message(id=9, opCode=opCode, maxSize=0)
            message.queries = [dns.Query(b"_tcp.example.com", dns.SOA)]
            [reply] = Harness().udpExchange(message.toStr())
            with self.subTest(opCode=opCode):
                self.assertEqual(
                    (reply.answer, reply.opCode, reply.rCode), (1, opCode, dns.ENOTIMP)
                )

    def test_oversized(self) -> None:
        """
        A datagram larger than any query gets FORMERR.
        """
        data = query(b"_imaps._tcp.example.com", dns.SRV) + b"\x00" * MAX_QUERY_SIZE
        [reply] = Harness().udpExchange(data)
        self.assertEqual(reply.rCode, dns.EFORMAT)

    def test_unencodableQuestion(self) -> None:
        """
        A question name that cannot be encoded again (labels made of dots,
        which Twisted's name type cannot tell from separators) gets FORMERR
        without the question instead of an exception.
        """
        labels = (bytes([63]) + b"." * 63) * 5
        data = struct.pack("!HHHHHH", 5, 0, 1, 0, 0, 0) + labels
        data += b"\x00" + struct.pack("!HH", dns.SRV, dns.IN)
        [reply] = Harness().udpExchange(data)
        self.assertEqual((reply.id, reply.rCode, reply.queries), (5, dns.EFORMAT, []))

    def test_internalError(self) -> None:
        """
        An exception while answering gives SERVFAIL and is logged, and the
        next query is answered normally.
        """
        harness = Harness()

        def broken(query: dns.Query) -> None:
            raise RuntimeError("boom")

        original = harness.factory.authority.query
        harness.factory.authority.query = broken  # type: ignore[method-assign]
        [reply] = harness.udpExchange(query(b"_imaps._tcp.example.com", dns.SRV))
        self.assertEqual(reply.rCode, dns.ESERVER)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        harness.factory.authority.query = original  # type: ignore[method-assign]
        [reply] = harness.udpExchange(query(b"_imaps._tcp.example.com", dns.SRV))
        self.assertEqual(reply.rCode, dns.OK)

    def test_transferOverUdp(self) -> None:
        """
        AXFR over UDP gets FORMERR. IXFR over UDP gets the SOA record, so the
        client retries over TCP (RFC 1995).
        """
        [axfr] = Harness().udpExchange(query(b"_tcp.example.com", dns.AXFR))
        self.assertEqual(axfr.rCode, dns.EFORMAT)
        [ixfr] = Harness().udpExchange(query(b"_tcp.example.com", dns.IXFR))
        self.assertEqual((ixfr.rCode, [r.type for r in ixfr.answers]), (dns.OK, [dns.SOA]))


class StreamTests(SynchronousTestCase):
    """
    Queries and zone transfers over TCP.
    """

    def test_largeAnswer(self) -> None:
        """
        An answer too large for UDP is sent whole over TCP.
        """
        [reply] = Harness(manyServersRegistry(40)).tcpExchange(
            query(b"_imaps._tcp.example.com", dns.SRV)
        )
        self.assertEqual((reply.trunc, len(reply.answers)), (0, 40))

    def test_pipelined(self) -> None:
        """
        Several queries in one segment get one response each, in order.
        """
        harness = Harness()
        protocol, transport = harness.tcpConnection()
        first = query(b"_imaps._tcp.example.com", dns.SRV, messageID=1)
        second = query(b"_submissions._tcp.example.com", dns.SRV, messageID=2)
        protocol.dataReceived(b"".join(struct.pack("!H", len(m)) + m for m in (first, second)))
        replies = splitStream(transport.value())
        self.assertEqual([(r.id, r.answers[0].payload.port) for r in replies], [(1, 993), (2, 465)])

    def test_transfer(self) -> None:
        """
        An allowed client gets the zone: SOA first and last, every record of
        the zone in between, AA set.
        """
        [reply] = Harness().tcpExchange(query(b"_tcp.example.com", dns.AXFR))
        self.assertEqual((reply.rCode, reply.auth), (dns.OK, 1))
        types = [r.type for r in reply.answers]
        self.assertEqual((types[0], types[-1]), (dns.SOA, dns.SOA))
        self.assertEqual(types[1:3], [dns.NS, dns.NS])
        owners = {r.name.name for r in reply.answers}
        self.assertEqual(
            owners,
            {
                b"_tcp.example.com",
                b"_imaps._tcp.example.com",
                b"_imap._tcp.example.com",
                b"_pop3s._tcp.example.com",
                b"_pop3._tcp.example.com",
                b"_submissions._tcp.example.com",
                b"_submission._tcp.example.com",
                b"_autodiscover._tcp.example.com",
            },
        )

    def test_ixfrIsFullTransfer(self) -> None:
        """
        IXFR over TCP gets the whole zone, as an AXFR would.
        """
        [reply] = Harness().tcpExchange(query(b"_tcp.example.com", dns.IXFR))
        self.assertEqual(len(reply.answers), 11)

    def test_transferRefused(self) -> None:
        """
        A client outside C{allow-transfer} gets REFUSED, and the refusal is
        logged with its address.
        """
        events: list[dict[str, object]] = []
        harness = Harness()
        harness.factory.log = Logger(observer=events.append)  # type: ignore[misc]
        [reply] = harness.tcpExchange(query(b"_tcp.example.com", dns.AXFR), host="127.0.0.2")
        self.assertEqual((reply.rCode, reply.answers), (dns.EREFUSED, []))
        self.assertEqual([event.get("client") for event in events], ["127.0.0.2"])

    def test_transferOfNonZone(self) -> None:
        """
        AXFR of a name that is not a zone apex gets NOTAUTH.
        """
        [reply] = Harness().tcpExchange(query(b"_imaps._tcp.example.com", dns.AXFR))
        self.assertEqual(reply.rCode, 9)

    def test_largeTransferSplit(self) -> None:
        """
        A large zone is sent in several messages; only the first carries the
        question, and together they hold every record once.
        """
        harness = Harness(manyServersRegistry(600))
        replies = harness.tcpExchange(query(b"_tcp.example.com", dns.AXFR))
        self.assertGreater(len(replies), 1)
        self.assertEqual([len(r.queries) for r in replies], [1] + [0] * (len(replies) - 1))
        records = [r for reply in replies for r in reply.answers]
        self.assertEqual((records[0].type, records[-1].type), (dns.SOA, dns.SOA))
        self.assertEqual(len(records), 2 + 2 + 600 + 1 + 1 + 2 + 1 + 1)

    def test_idleTimeout(self) -> None:
        """
        A connection that sends nothing is closed after the idle timeout;
        each message restarts the timer.
        """
        harness = Harness()
        protocol, transport = harness.tcpConnection()
        harness.clock.advance(TCP_IDLE_TIMEOUT - 1)
        data = query(b"_imaps._tcp.example.com", dns.SRV)
        protocol.dataReceived(struct.pack("!H", len(data)) + data)
        harness.clock.advance(TCP_IDLE_TIMEOUT - 1)
        self.assertFalse(transport.disconnecting or transport.disconnected)
        harness.clock.advance(1)
        self.assertTrue(transport.disconnecting or transport.disconnected)

    def test_oversizedMessage(self) -> None:
        """
        A TCP message longer than any query closes the connection.
        """
        protocol, transport = Harness().tcpConnection()
        protocol.dataReceived(struct.pack("!H", MAX_QUERY_SIZE + 1))
        self.assertTrue(transport.disconnecting)
        self.assertEqual(transport.value(), b"")


class AllowListTests(SynchronousTestCase):
    """
    The C{allow-transfer} check.
    """

    def test_addresses(self) -> None:
        """
        Addresses inside a listed network are allowed; IPv4-mapped IPv6
        addresses count as IPv4; anything else is not.
        """
        networks = ("127.0.0.1/32", "2001:db8::/32")
        cases = [
            ("127.0.0.1", True),
            ("127.0.0.2", False),
            ("::ffff:127.0.0.1", True),
            ("2001:db8::53", True),
            ("2001:db9::53", False),
            ("fe80::1%eth0", False),
            ("not an address", False),
        ]
        for host, expected in cases:
            with self.subTest(host=host):
                self.assertEqual(transferAllowed(host, networks), expected)
