"""
DNS over UDP and TCP for the authority: message checks, EDNS, truncation and
zone transfers.

The protocols and the factory subclass C{twisted.names}' classes but replace
the parts of their defaults that are wrong for an authoritative server:

  - C{DNSServerFactory} answers a response message as if it were a query,
    echoes the request with QR unset for NOTIFY and unknown opcodes, sets
    AA only when an answer record is authoritative (so NXDOMAIN lacks it),
    returns NXDOMAIN without the SOA record, and answers empty questions
    with REFUSED instead of FORMERR.
  - C{DNSServerFactory} never truncates, because a decoded message has a
    C{maxSize} of 0, and C{dns.Message} with a size limit cuts the encoded
    bytes, which leaves record counts that do not match the records. Here a
    response that does not fit is sent with the TC bit and the question
    only, so the client retries over TCP.
  - C{DNSDatagramProtocol} drops malformed messages without a response.
    Here a message with a readable header gets FORMERR.
  - Logging uses C{twisted.logger} events instead of C{verbose} levels.
"""

from __future__ import annotations

import ipaddress
import struct
from typing import Optional, Sequence, Union

from twisted.internet.interfaces import IAddress, IReactorTime
from twisted.internet.protocol import connectionDone
from twisted.logger import Logger
from twisted.names import dns
from twisted.names.server import DNSServerFactory
from twisted.protocols.policies import TimeoutMixin
from twisted.python.failure import Failure

from .authority import Answer, Authority, toResourceRecord

__all__ = [
    "CLASSIC_UDP_SIZE",
    "EDNS_UDP_SIZE",
    "MAX_QUERY_SIZE",
    "TCP_IDLE_TIMEOUT",
    "AuthorityServerFactory",
    "AuthorityDatagramProtocol",
    "AuthorityStreamProtocol",
    "transferAllowed",
]

#: Largest UDP response to a query without EDNS (RFC 1035).
CLASSIC_UDP_SIZE = 512

#: Largest UDP response sent to an EDNS client, and the size advertised in
#: the OPT record. It fits an IPv6 packet of the minimum MTU, 1280 bytes,
#: after the IPv6 and UDP headers, so responses are not fragmented.
EDNS_UDP_SIZE = 1232

#: Largest query read. A question with an OPT record and a TSIG signature
#: takes a few hundred bytes, so anything larger is not a query.
MAX_QUERY_SIZE = 4096

#: Largest response over TCP (the two-byte length prefix, RFC 1035 4.2.2).
_MAX_TCP_MESSAGE = 65535

#: Size at which a zone transfer starts its next message.
_TRANSFER_MESSAGE_SIZE = 16384

#: Seconds a TCP connection may stay idle before it is closed, so that idle
#: clients cannot keep connections open.
TCP_IDLE_TIMEOUT = 10.0

#: RCODE NOTAUTH (RFC 2136), for a transfer of a name that is not a zone
#: served here. C{twisted.names.dns} has no constant for it.
_NOTAUTH = 9

_HEADER = struct.Struct("!HBB")

Protocol = Union["AuthorityDatagramProtocol", "AuthorityStreamProtocol"]


def transferAllowed(host: str, networks: Sequence[str]) -> bool:
    """
    Check a client address against the C{allow-transfer} networks.

    @param host: The client's address; an IPv4-mapped IPv6 address counts
        as the IPv4 address.
    """
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in ipaddress.ip_network(network) for network in networks)


def _optRecord(rCode: int) -> dns.RRHeader:
    """
    The OPT pseudo-record of a response: EDNS version 0, our UDP size, and
    the upper bits of an extended RCODE (RFC 6891).
    """
    return dns.RRHeader(
        name=b"",
        type=dns.OPT,
        cls=EDNS_UDP_SIZE,
        ttl=(rCode >> 4) << 24,
        payload=dns.UnknownRecord(b""),
    )


class _Request:
    """
    One query message and how to answer it: over which protocol, to which
    address, and what EDNS allows.

    @ivar edns: Whether the query had an OPT record.
    @ivar udpSize: The client's UDP payload size, at least 512.
    """

    def __init__(self, message: dns.Message, protocol: Protocol, address: object) -> None:
        self.message = message
        self.protocol = protocol
        self.address = address
        self.edns = False
        self.udpSize = CLASSIC_UDP_SIZE

    @property
    def overUDP(self) -> bool:
        return self.address is not None

    @property
    def limit(self) -> int:
        if not self.overUDP:
            return _MAX_TCP_MESSAGE
        if self.edns:
            return min(max(self.udpSize, CLASSIC_UDP_SIZE), EDNS_UDP_SIZE)
        return CLASSIC_UDP_SIZE

    def client(self) -> str:
        if self.address is not None:
            return str(self.address[0])  # type: ignore[index]
        peer: IAddress = self.protocol.transport.getPeer()
        return str(getattr(peer, "host", peer))

    def response(
        self, rCode: int, answer: Optional[Answer] = None, question: bool = True
    ) -> dns.Message:
        message = dns.Message(
            id=self.message.id,
            answer=True,
            opCode=self.message.opCode,
            recDes=self.message.recDes,
            auth=answer is not None and answer.authoritative,
            rCode=rCode & 0xF,
            maxSize=0,
        )
        if question:
            message.queries = self.message.queries[:1]
        if answer is not None:
            message.answers = list(answer.answers)
            message.authority = list(answer.authority)
            message.additional = list(answer.additional)
        if self.edns:
            message.additional.append(_optRecord(rCode))
        return message


class AuthorityServerFactory(DNSServerFactory):
    """
    Sends the answers of an L{Authority} through the UDP and TCP protocols.

    Of C{DNSServerFactory} it keeps the connection bookkeeping and the
    protocol factory, and L{messageReceived} replaces the whole dispatch.
    The C{allow-transfer} networks are read from the current snapshot at each
    transfer request, so a reload changes them at once.
    """

    log = Logger()

    def __init__(
        self,
        authority: Authority,
        reactor: IReactorTime,
    ) -> None:
        super().__init__()
        self.authority = authority
        self._reactor = reactor

    def buildProtocol(self, addr: Optional[IAddress]) -> AuthorityStreamProtocol:
        protocol = AuthorityStreamProtocol(self, reactor=self._reactor)
        protocol.factory = self
        return protocol

    def _allowTransfer(self) -> Sequence[str]:
        data = self.authority.holder.current.dns
        return () if data is None else data.settings.allowTransfer

    # Receiving -----------------------------------------------------------------

    def bytesReceived(self, data: bytes, protocol: Protocol, address: object) -> None:
        """
        Decode one message and answer it. A message that cannot be decoded
        gets FORMERR when its header is readable, and nothing otherwise.

        @param address: The client's C{(host, port)} over UDP, C{None} over
            TCP.
        """
        message = dns.Message()
        try:
            if len(data) > MAX_QUERY_SIZE:
                raise ValueError(f"{len(data)} bytes is over the limit of {MAX_QUERY_SIZE}")
            message.fromStr(data)
        except (EOFError, ValueError) as e:
            self._malformed(data, protocol, address, e)
            return
        self.messageReceived(message, protocol, address)

    def _malformed(
        self, data: bytes, protocol: Protocol, address: object, error: Exception
    ) -> None:
        if len(data) < dns.Message.headerSize:
            self.log.debug("Dropped a {length}-byte message", length=len(data))
            return
        messageID, flags, _ = _HEADER.unpack_from(data)
        if flags & 0x80:
            # A response: answering it could start a loop between servers.
            return
        message = dns.Message(id=messageID, opCode=(flags >> 3) & 0xF, recDes=flags & 1)
        request = _Request(message, protocol, address)
        self.log.debug(
            "FORMERR for a malformed message from {client}: {error}",
            client=request.client(),
            error=str(error) or type(error).__name__,
        )
        self._send(request, request.response(dns.EFORMAT, question=False))

    def messageReceived(
        self, message: dns.Message, proto: Protocol, address: object = None
    ) -> None:
        """
        Check a decoded message and answer it.
        """
        if message.answer:
            return
        request = _Request(message, proto, address)
        rCode = self._check(request)
        if rCode is not None:
            self._send(request, request.response(rCode))
            return

        query = message.queries[0]
        if query.type in (dns.AXFR, dns.IXFR):
            self._transfer(request, query)
            return
        try:
            answer = self.authority.query(query)
        except Exception:
            self.log.failure("Failed to answer a query for {name}", name=_text(query.name.name))
            answer = Answer(dns.ESERVER)
        self._send(request, request.response(answer.rCode, answer))

    def _check(self, request: _Request) -> Optional[int]:
        """
        Apply the message rules, reading the OPT record on the way.

        @return: An error RCODE, or C{None} if the message can be answered.
        """
        message = request.message
        options = [record for record in message.additional if record.type == dns.OPT]
        if len(options) > 1:
            return dns.EFORMAT
        if options:
            request.edns = True
            request.udpSize = options[0].cls
            if (options[0].ttl >> 16) & 0xFF != 0:
                return dns.EBADVERSION
        if message.opCode != dns.OP_QUERY:
            return dns.ENOTIMP
        if len(message.queries) != 1:
            return dns.EFORMAT
        return None

    # Sending -------------------------------------------------------------------

    def _encode(self, request: _Request, response: dns.Message) -> bytes:
        """
        Encode a response within the transport's limit: without the
        additional records if needed, else with the TC bit and the question
        only.
        """
        payload = response.toStr()
        if len(payload) <= request.limit:
            return payload
        options = [record for record in response.additional if record.type == dns.OPT]
        if len(response.additional) > len(options):
            response.additional = options
            payload = response.toStr()
            if len(payload) <= request.limit:
                return payload
        response.answers, response.authority = [], []
        response.trunc = 1
        return response.toStr()

    def _send(self, request: _Request, response: dns.Message) -> None:
        try:
            payload = self._encode(request, response)
        except ValueError as e:
            # The question's name cannot be encoded again, for example labels
            # that contain dots, so the response leaves the question out.
            self.log.debug("Cannot encode a response: {error}", error=e)
            fallback = request.response(dns.EFORMAT, question=False)
            payload = fallback.toStr()
        self._write(request, payload)

    def _write(self, request: _Request, payload: bytes) -> None:
        if request.overUDP:
            request.protocol.transport.write(payload, request.address)
        else:
            request.protocol.sendString(payload)  # type: ignore[union-attr]

    # Zone transfers ------------------------------------------------------------

    def _transfer(self, request: _Request, query: dns.Query) -> None:
        """
        Send a zone by AXFR (RFC 5936) to an allowed client over TCP. An
        IXFR request gets the whole zone too (RFC 1995), or over UDP only
        the SOA record, so the client retries over TCP.
        """
        client = request.client()
        zoneName = _text(query.name.name)
        if query.cls != dns.IN or not transferAllowed(client, self._allowTransfer()):
            self.log.info(
                "Refused a transfer of {zone} to {client}: not in dns.allow-transfer",
                zone=zoneName,
                client=client,
            )
            self._send(request, request.response(dns.EREFUSED))
            return
        zone = self.authority.transferZone(query.name.name)
        if zone is None:
            self._send(request, request.response(_NOTAUTH))
            return
        if request.overUDP:
            if query.type == dns.AXFR:
                self._send(request, request.response(dns.EFORMAT))
            else:
                soa = Answer(dns.OK, answers=(toResourceRecord(zone.soa),), authoritative=True)
                self._send(request, request.response(dns.OK, soa))
            return

        records = [zone.soa, *zone.records[1:], zone.soa]
        messages = self._transferMessages(request, [toResourceRecord(r) for r in records])
        for message in messages:
            self._write(request, message)
        self.log.info(
            "Sent zone {zone} serial {serial} to {client}: {count} records in {messages} messages",
            zone=zone.origin,
            serial=zone.soa.data.serial,  # type: ignore[union-attr]
            client=client,
            count=len(records),
            messages=len(messages),
        )

    def _transferMessages(self, request: _Request, records: list[dns.RRHeader]) -> list[bytes]:
        """
        Pack transfer records into messages of about
        L{_TRANSFER_MESSAGE_SIZE} bytes; only the first carries the
        question.
        """
        messages: list[bytes] = []
        batch: list[dns.RRHeader] = []
        size = 0
        for record in records:
            recordSize = len(_encodeRecord(record))
            if batch and size + recordSize > _TRANSFER_MESSAGE_SIZE:
                messages.append(self._transferMessage(request, batch, not messages))
                batch, size = [], 0
            batch.append(record)
            size += recordSize
        messages.append(self._transferMessage(request, batch, not messages))
        return messages

    def _transferMessage(
        self, request: _Request, records: list[dns.RRHeader], first: bool
    ) -> bytes:
        answer = Answer(dns.OK, answers=tuple(records), authoritative=True)
        return request.response(dns.OK, answer, question=first).toStr()


def _encodeRecord(record: dns.RRHeader) -> bytes:
    message = dns.Message(maxSize=0)
    message.answers = [record]
    return message.toStr()[dns.Message.headerSize :]


def _text(name: bytes) -> str:
    return name.decode("ascii", "backslashreplace")


class AuthorityDatagramProtocol(dns.DNSDatagramProtocol):
    """
    DNS over UDP: every datagram goes to the factory, which answers through
    this protocol's transport.
    """

    controller: AuthorityServerFactory

    def datagramReceived(self, data: bytes, addr: tuple[str, int]) -> None:
        self.controller.bytesReceived(data, self, addr)


class AuthorityStreamProtocol(dns.DNSProtocol, TimeoutMixin):
    """
    DNS over TCP, closed after L{TCP_IDLE_TIMEOUT} seconds without a
    message.

    C{callLater} comes from C{DNSMixin}, so the timeout runs on the reactor
    given to the constructor.
    """

    controller: AuthorityServerFactory
    MAX_LENGTH = MAX_QUERY_SIZE

    # TODO: the number of concurrent TCP connections is not limited; idle
    # ones are closed only by the timeout.

    def connectionMade(self) -> None:
        super().connectionMade()
        self.setTimeout(TCP_IDLE_TIMEOUT)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.setTimeout(None)
        super().connectionLost(reason)

    def stringReceived(self, data: bytes) -> None:
        self.resetTimeout()
        self.controller.bytesReceived(data, self, None)

    def lengthLimitExceeded(self, length: int) -> None:
        self.controller.log.debug(
            "Closed a TCP connection that announced a {length}-byte message", length=length
        )
        self.transport.loseConnection()
