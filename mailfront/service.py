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

from .operations import buildOperations
from .registry import Registry, loadDirectory
from .snapshot import SnapshotHolder, buildSnapshot
from .tls import KeyPair, ensureSelfSigned, loadKeyPair
from .web import autoconfig
from .web.root import MailfrontSite, RequestObserver, RootResource

__all__ = ["ServiceConfig", "makeMailfrontService", "buildSite", "DEFAULT_HTTP", "DEFAULT_HTTPS"]

log = Logger()

DEFAULT_CONFIG = "examples/config"
DEFAULT_HTTP = "tcp:8080:interface=127.0.0.1"
DEFAULT_HTTPS = "tcp:8443:interface=127.0.0.1"
DEFAULT_STATE = "mailfront-state"
DEFAULT_ADMIN = "tcp:8081:interface=127.0.0.1"
DEFAULT_POLL_INTERVAL = 2.0


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
    @ivar admin: Endpoint description of the admin listener (health,
        readiness, metrics, reload), or C{None} for none.
    @ivar adminTokenFile: The token C{POST /reload} requires; C{None} means
        C{admin-token} in C{stateDirectory}, generated on first start.
    @ivar watch: How to notice configuration changes: C{auto}, C{inotify},
        C{poll} or C{off}.
    @ivar pollInterval: Seconds between checks of the directory when
        polling.
    """

    configDirectory: str = DEFAULT_CONFIG
    http: Sequence[str] = (DEFAULT_HTTP,)
    https: Sequence[str] = (DEFAULT_HTTPS,)
    keyPair: Optional[KeyPair] = None
    stateDirectory: str = DEFAULT_STATE
    admin: Optional[str] = DEFAULT_ADMIN
    adminTokenFile: Optional[str] = None
    watch: str = "auto"
    pollInterval: float = DEFAULT_POLL_INTERVAL


def buildSite(
    holder: SnapshotHolder,
    reactor: IReactorTime,
    requestObserver: Optional[RequestObserver] = None,
) -> Site:
    """
    Build the Site that serves every HTTP protocol from C{holder}.

    @param requestObserver: Observer of every finished request (metrics).
    """
    autoconfigResource = autoconfig.AutoconfigResource(holder)
    routes = {path: autoconfigResource for path in autoconfig.PATHS}
    site = MailfrontSite(RootResource(routes), reactor, requestObserver)
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
) -> MultiService:
    """
    Build the whole mailfront service.

    @param registry: An already loaded registry; loaded from
        C{config.configDirectory} when C{None}.
    @raise mailfront.registry.InvalidConfiguration: If the configuration is
        invalid.
    @raise mailfront.tls.CertificateError: If the certificate cannot be used.
    @raise mailfront.admin.AdminTokenError: If the admin token file cannot be
        read or created.
    """
    if registry is None:
        registry = loadDirectory(config.configDirectory)
    holder = SnapshotHolder(buildSnapshot(registry, generation=1))
    log.info(
        "Loaded {domains} domains of {providers} providers from {directory}",
        domains=len(registry.domains),
        providers=len(registry.providers),
        directory=config.configDirectory,
    )

    service = MultiService()
    operations = buildOperations(
        reactor,
        holder,
        config.configDirectory,
        config.stateDirectory,
        config.admin,
        config.adminTokenFile,
        config.watch,
        config.pollInterval,
    )
    operations.service.setServiceParent(service)
    site = buildSite(holder, reactor, operations.metrics)  # type: ignore[arg-type]
    for description in config.http:
        endpoint = serverFromString(reactor, description)
        StreamServerEndpointService(endpoint, site).setServiceParent(service)
    if config.https:
        tlsFactory = TLSMemoryBIOFactory(_tlsOptions(config, reactor), False, site)  # type: ignore[arg-type]
        for description in config.https:
            endpoint = serverFromString(reactor, description)
            StreamServerEndpointService(endpoint, tlsFactory).setServiceParent(service)
    return service
