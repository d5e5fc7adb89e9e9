"""
DNS NOTIFY (RFC 1996): telling secondaries that a zone has a new serial, so
they transfer it at once instead of at their next refresh.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Callable, Iterable, Optional

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.names import dns
from twisted.names.error import DNSQueryTimeoutError
from twisted.python.failure import Failure

from ..registry.model import NotifyTarget

__all__ = ["NotifyProtocol", "Notifier", "ATTEMPTS", "FIRST_TIMEOUT", "MAX_IN_FLIGHT"]

#: How often a NOTIFY is sent before giving up.
ATTEMPTS = 5

#: Seconds to wait for the first response; doubled for each retry.
FIRST_TIMEOUT = 2.0

#: NOTIFY messages waiting for a response at once, so that a change to every
#: zone does not flood the secondaries.
MAX_IN_FLIGHT = 16


class NotifyProtocol(dns.DNSDatagramProtocol):
    """
    Sends NOTIFY messages over UDP.

    C{DNSDatagramProtocol.query} sends a QUERY message and matches the
    response by id and source address; this subclass only turns the message
    into a NOTIFY (opcode 4, AA set, RD clear) as it is written.
    """

    def writeMessage(self, message: dns.Message, address: tuple[str, int]) -> None:
        message.opCode = dns.OP_NOTIFY
        message.auth = True
        message.recDes = False
        message.maxSize = 0
        super().writeMessage(message, address)


class Notifier:
    """
    A queue of NOTIFY messages, each retried until the secondary responds.

    @ivar protocols: Returns the protocol to send from for an address
        family (4 or 6), or C{None} when none is listening.
    @ivar targets: Returns the secondaries to notify, read when a message is
        queued so a reload's new list applies at once.
    """

    log = Logger()

    def __init__(
        self,
        clock: IReactorTime,
        protocols: Callable[[int], Optional[NotifyProtocol]],
        targets: Callable[[], Iterable[NotifyTarget]],
    ) -> None:
        self._clock = clock
        self.protocols = protocols
        self.targets = targets
        self._queue: OrderedDict[tuple[str, NotifyTarget], None] = OrderedDict()
        self._inFlight = 0

    @property
    def pending(self) -> int:
        """
        The number of NOTIFY messages queued or waiting for a response.
        """
        return len(self._queue) + self._inFlight

    def notify(self, origins: Iterable[str]) -> None:
        """
        Queue a NOTIFY for each zone to each secondary. A zone already
        queued for a secondary is sent once.

        @param origins: Fully qualified zone names.
        """
        targets = tuple(self.targets())
        for origin in origins:
            for target in targets:
                self._queue[(origin, target)] = None
        self._pump()

    def messageReceived(self, message: dns.Message, protocol: object, address: object) -> None:
        """
        Ignore a message that matches no pending NOTIFY, such as a late
        response to a retried one.
        """

    def _pump(self) -> None:
        while self._queue and self._inFlight < MAX_IN_FLIGHT:
            (origin, target), _ = self._queue.popitem(last=False)
            self._inFlight += 1
            self._send(origin, target, 1).addBoth(self._finished)

    def _finished(self, result: object) -> None:
        self._inFlight -= 1
        self._pump()

    def _send(self, origin: str, target: NotifyTarget, attempt: int) -> Deferred[None]:
        family = 6 if ":" in target.address else 4
        protocol = self.protocols(family)
        if protocol is None:
            self.log.warn(
                "Cannot notify {address}: no IPv{family} socket to send from",
                address=target.address,
                family=family,
            )
            return succeed(None)
        question = dns.Query(origin.rstrip(".").encode("ascii"), dns.SOA, dns.IN)
        timeout = FIRST_TIMEOUT * 2 ** (attempt - 1)
        sent = protocol.query((target.address, target.port), [question], timeout=timeout)
        return sent.addCallbacks(
            self._answered,
            self._failed,
            callbackArgs=(origin, target),
            errbackArgs=(origin, target, attempt),
        )

    def _answered(self, response: dns.Message, origin: str, target: NotifyTarget) -> None:
        if response.rCode == dns.OK:
            self.log.info(
                "Secondary {address} port {port} acknowledged NOTIFY for {zone}",
                address=target.address,
                port=target.port,
                zone=origin,
            )
        else:
            self.log.warn(
                "Secondary {address} port {port} rejected NOTIFY for {zone} with RCODE {rcode}",
                address=target.address,
                port=target.port,
                zone=origin,
                rcode=response.rCode,
            )

    def _failed(
        self, reason: Failure, origin: str, target: NotifyTarget, attempt: int
    ) -> Optional[Deferred[None]]:
        if reason.check(DNSQueryTimeoutError) and attempt < ATTEMPTS:
            return self._send(origin, target, attempt + 1)
        self.log.warn(
            "NOTIFY for {zone} to {address} port {port} failed after {attempts} attempts: {error}",
            zone=origin,
            address=target.address,
            port=target.port,
            attempts=attempt,
            error=reason.getErrorMessage() or reason.type.__name__,
        )
        return None
