"""
Wiring of the DNS authority: UDP and TCP listeners on one port, the zone
serials, and NOTIFY to secondaries after every change of the zones.
"""

from __future__ import annotations

import ipaddress
import os
from typing import Any, Optional

from twisted.application.internet import StreamServerEndpointService, UDPServer
from twisted.application.service import MultiService
from twisted.internet.endpoints import TCP4ServerEndpoint, TCP6ServerEndpoint
from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import IListeningPort
from twisted.logger import Logger

from ..registry.model import NotifyTarget
from ..render.dnszones import DnsData
from ..snapshot import Snapshot, SnapshotHolder
from .authority import Authority
from .notify import Notifier, NotifyProtocol
from .serials import SerialStore, ZoneSerials
from .server import AuthorityDatagramProtocol, AuthorityServerFactory

__all__ = ["DnsService", "makeDnsService", "SERIAL_FILE", "UDP_READ_SIZE"]

#: Name of the serial state file in the state directory.
SERIAL_FILE = "dns-serial.json"

#: Bytes read per datagram: the largest UDP payload, so that an oversized
#: query is seen whole and rejected instead of being cut by the socket.
UDP_READ_SIZE = 65535


class DnsService(MultiService):
    """
    The DNS listeners, plus the work that follows a new snapshot: new
    serials for changed zones and NOTIFY messages to the secondaries.

    @ivar serials: The serials of every domain's zones.
    @ivar notifier: The NOTIFY queue.
    """

    log = Logger()

    def __init__(
        self,
        holder: SnapshotHolder,
        serials: ZoneSerials,
        reactor: Any,
        interface: str,
    ) -> None:
        super().__init__()
        self._holder = holder
        self._reactor = reactor
        self._interface = interface
        self._notifyPorts: dict[int, IListeningPort] = {}
        self._notifyProtocols: dict[int, NotifyProtocol] = {}
        self.serials = serials
        self.notifier = Notifier(reactor, self._notifyProtocol, self._notifyTargets)
        holder.addObserver(self._snapshotSwapped)

    def _notifyTargets(self) -> tuple[NotifyTarget, ...]:
        data = self._holder.current.dns
        return () if data is None else data.settings.notify

    def _sourceAddress(self, family: int) -> str:
        """
        Choose the address NOTIFY messages are sent from: the DNS interface
        when it has the family, because secondaries accept NOTIFY only from
        the primary's address, else any address of the family.
        """
        address = ipaddress.ip_address(self._interface)
        if address.version == family and not address.is_unspecified:
            return self._interface
        return "::" if family == 6 else "0.0.0.0"

    def _notifyProtocol(self, family: int) -> Optional[NotifyProtocol]:
        """
        Return the socket NOTIFY messages of one address family leave from,
        opening it on first use, so that no socket listens for a family
        that has no secondaries.
        """
        protocol = self._notifyProtocols.get(family)
        if protocol is not None or not self.running:
            return protocol
        protocol = NotifyProtocol(self.notifier, reactor=self._reactor)
        try:
            port = self._reactor.listenUDP(0, protocol, interface=self._sourceAddress(family))
        except CannotListenError as e:
            self.log.warn("No IPv{family} socket for DNS NOTIFY: {error}", family=family, error=e)
            return None
        self._notifyPorts[family] = port
        self._notifyProtocols[family] = protocol
        return protocol

    def startService(self) -> None:
        super().startService()
        if self.serials.changedAtStart:
            self._notifyAll(self._holder.current)

    def stopService(self) -> Any:
        for port in self._notifyPorts.values():
            port.stopListening()
        self._notifyPorts.clear()
        self._notifyProtocols.clear()
        return super().stopService()

    def _notifyAll(self, snapshot: Snapshot) -> None:
        data = snapshot.dns
        if data is None or not data.settings.notify:
            return
        # TODO: the queue contains one entry per zone and secondary, which for a
        # million domains is millions of entries; catalog zones (RFC 9432)
        # would let secondaries follow one zone instead.
        self.notifier.notify(
            origin for domain in sorted(data.templates) for origin in data.zoneOrigins(domain)
        )

    def _snapshotSwapped(self, previous: Snapshot, current: Snapshot) -> None:
        """
        Give changed zones a new serial and notify the secondaries.
        Observers must not raise, so every failure is logged here.
        """
        data = current.dns
        if data is None:
            return
        try:
            changed = self.serials.update(previous.dns, data)
            origins = [origin for domain in sorted(changed) for origin in data.zoneOrigins(domain)]
        except Exception:
            self.log.failure("Failed to update the DNS serials after a reload")
            return
        if not changed:
            return
        self.log.info(
            "DNS zones of {count} domains changed; new serial {serial}",
            count=len(changed),
            serial=self.serials.highest,
        )
        if self.running:
            self.notifier.notify(origins)


#: How many unresolvable targets are logged one by one at start.
_LOGGED_TARGETS = 10


def _warnAddresslessTargets(data: DnsData) -> None:
    """
    Log SRV and CNAME targets that resolvers could not find, because they
    lie in a zone served here that has no address records for them.
    """
    if data.settings.zoneLayout != "domain":
        return
    problems = data.addresslessTargets(sorted(data.templates))
    for record, origin in problems[:_LOGGED_TARGETS]:
        DnsService.log.warn(
            "{owner} {type} points at {target}, which lies in the zone {zone} that mailfront "
            "serves without address records for it; name mail hosts outside the served domains",
            owner=record.owner,
            type=record.type,
            target=record.data.target,  # type: ignore[union-attr]
            zone=origin,
        )
    if len(problems) > _LOGGED_TARGETS:
        DnsService.log.warn(
            "{count} more records point at names that do not resolve",
            count=len(problems) - _LOGGED_TARGETS,
        )


def makeDnsService(
    holder: SnapshotHolder,
    reactor: Any,
    port: int,
    interface: str,
    stateDirectory: str,
) -> DnsService:
    """
    Build the DNS service: UDP and TCP on C{port} of C{interface}.

    @param holder: Its current snapshot must have DNS data.
    @param stateDirectory: Where the serial state file is kept.
    @raise ValueError: If the current snapshot has no DNS data.
    """
    data = holder.current.dns
    if data is None:
        raise ValueError("the configuration has no [dns] table, which DNS needs")
    _warnAddresslessTargets(data)
    serials = ZoneSerials(data, SerialStore(os.path.join(stateDirectory, SERIAL_FILE)), reactor)
    service = DnsService(holder, serials, reactor, interface)

    factory = AuthorityServerFactory(Authority(holder, serials.serialOf), reactor)
    datagram = AuthorityDatagramProtocol(factory, reactor=reactor)
    udp = UDPServer(
        port, datagram, interface=interface, maxPacketSize=UDP_READ_SIZE, reactor=reactor
    )
    udp.setServiceParent(service)

    endpoint: Optional[Any]
    if ipaddress.ip_address(interface).version == 6:
        endpoint = TCP6ServerEndpoint(reactor, port, interface=interface)
    else:
        endpoint = TCP4ServerEndpoint(reactor, port, interface=interface)
    StreamServerEndpointService(endpoint, factory).setServiceParent(service)
    return service
