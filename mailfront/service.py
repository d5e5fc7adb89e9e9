"""
Wiring: the listeners and everything they serve, as one MultiService.

The tap module, the twistd plugin and C{mailfront.tac} all call
L{makeMailfrontService}, so every way of starting mailfront builds the same
service.
"""

from __future__ import annotations

import datetime
from typing import Optional, Sequence

import attrs
from twisted.application.internet import StreamServerEndpointService
from twisted.application.service import MultiService
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import IReactorCore, IReactorTime
from twisted.logger import Logger
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.web.server import Site

from .dns.service import makeDnsService
from .registry import ConfigError, InvalidConfiguration, Registry, loadDirectory
from .snapshot import SnapshotHolder, buildSnapshot
from .tls import KeyPair, ensureSelfSigned, loadKeyPair
from .web import autoconfig
from .web.root import MailfrontSite, RootResource

__all__ = ["ServiceConfig", "makeMailfrontService", "buildSite", "DEFAULT_HTTP", "DEFAULT_HTTPS"]

log = Logger()

DEFAULT_CONFIG = "examples/config"
DEFAULT_HTTP = "tcp:8080:interface=127.0.0.1"
DEFAULT_HTTPS = "tcp:8443:interface=127.0.0.1"
DEFAULT_STATE = "mailfront-state"
DEFAULT_DNS_INTERFACE = "127.0.0.1"


@attrs.frozen
class ServiceConfig:
    """
    What the command line or the C{.tac} file chose.

    @ivar configDirectory: The registry's configuration directory.
    @ivar http: Endpoint descriptions of plain HTTP listeners.
    @ivar https: Endpoint descriptions of listeners that speak TLS.
    @ivar keyPair: The certificate for the HTTPS listeners, or C{None} to use
        a self-signed one generated in C{stateDirectory}.
    @ivar stateDirectory: Where mailfront keeps files it makes itself.
    @ivar dnsPort: UDP and TCP port of the DNS authority, or C{None} for no
        DNS service.
    @ivar dnsInterface: The address the DNS listeners bind to.
    """

    configDirectory: str = DEFAULT_CONFIG
    http: Sequence[str] = (DEFAULT_HTTP,)
    https: Sequence[str] = (DEFAULT_HTTPS,)
    keyPair: Optional[KeyPair] = None
    stateDirectory: str = DEFAULT_STATE
    dnsPort: Optional[int] = None
    dnsInterface: str = DEFAULT_DNS_INTERFACE


def buildSite(holder: SnapshotHolder, reactor: IReactorTime) -> Site:
    """
    Build the Site that serves every HTTP protocol from C{holder}.
    """
    autoconfigResource = autoconfig.AutoconfigResource(holder)
    routes = {path: autoconfigResource for path in autoconfig.PATHS}
    site = MailfrontSite(RootResource(routes), reactor)
    return site


def _tlsOptions(config: ServiceConfig, reactor: IReactorTime):  # type: ignore[no-untyped-def]
    now = datetime.datetime.fromtimestamp(reactor.seconds(), datetime.timezone.utc)
    pair = config.keyPair
    if pair is None:
        pair, created = ensureSelfSigned(config.stateDirectory, now)
        if created:
            log.warn(
                "No certificate configured: generated a self-signed certificate "
                "{certificate} for localhost. Clients will not trust it; "
                "configure --tls-certificate and --tls-key for production.",
                certificate=pair.certificatePath,
            )
        else:
            log.info(
                "No certificate configured: using the self-signed certificate {certificate}",
                certificate=pair.certificatePath,
            )
    return loadKeyPair(pair, now)


def makeMailfrontService(
    config: ServiceConfig,
    reactor: IReactorCore,
    registry: Optional[Registry] = None,
    holder: Optional[SnapshotHolder] = None,
) -> MultiService:
    """
    Build the whole mailfront service.

    @param registry: An already loaded registry; loaded from
        C{config.configDirectory} when C{None}.
    @param holder: A holder to serve from, when the caller swaps snapshots
        itself; C{registry} is then ignored.
    @raise mailfront.registry.InvalidConfiguration: If the configuration is
        invalid, or DNS is requested without a C{[dns]} table.
    @raise mailfront.tls.CertificateError: If the certificate cannot be used.
    """
    if holder is None:
        if registry is None:
            registry = loadDirectory(config.configDirectory)
        holder = SnapshotHolder(buildSnapshot(registry, generation=1))
    registry = holder.current.registry
    log.info(
        "Loaded {domains} domains of {providers} providers from {directory}",
        domains=len(registry.domains),
        providers=len(registry.providers),
        directory=config.configDirectory,
    )

    service = MultiService()
    site = buildSite(holder, reactor)  # type: ignore[arg-type]
    for description in config.http:
        endpoint = serverFromString(reactor, description)
        StreamServerEndpointService(endpoint, site).setServiceParent(service)
    if config.https:
        tlsFactory = TLSMemoryBIOFactory(_tlsOptions(config, reactor), False, site)  # type: ignore[arg-type]
        for description in config.https:
            endpoint = serverFromString(reactor, description)
            StreamServerEndpointService(endpoint, tlsFactory).setServiceParent(service)
    if config.dnsPort is not None:
        if holder.current.dns is None:
            raise InvalidConfiguration(
                [ConfigError(config.configDirectory, "dns", "missing; DNS needs a [dns] table")]
            )
        makeDnsService(
            holder, reactor, config.dnsPort, config.dnsInterface, config.stateDirectory
        ).setServiceParent(service)
    return service
