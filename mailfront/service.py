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
from twisted.web.resource import Resource
from twisted.web.server import Site

from .profilesigning import ProfileSigners, loadProfileSigner
from .registry import Registry, loadDirectory
from .snapshot import SnapshotHolder, buildSnapshot
from .tls import KeyPair, ensureSelfSigned, loadKeyPair
from .web import appleprofile, autoconfig, autodiscover, setuppage
from .web.root import MailfrontSite, RootResource, normalizePath

__all__ = ["ServiceConfig", "makeMailfrontService", "buildSite", "DEFAULT_HTTP", "DEFAULT_HTTPS"]

log = Logger()

DEFAULT_CONFIG = "examples/config"
DEFAULT_HTTP = "tcp:8080:interface=127.0.0.1"
DEFAULT_HTTPS = "tcp:8443:interface=127.0.0.1"
DEFAULT_STATE = "mailfront-state"


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
    @ivar profileSigningKeyPair: The certificate that signs Apple profiles,
        or C{None} to sign them with the HTTPS certificate.
    @ivar setupPath: The path that serves the setup page on every host name.
    """

    configDirectory: str = DEFAULT_CONFIG
    http: Sequence[str] = (DEFAULT_HTTP,)
    https: Sequence[str] = (DEFAULT_HTTPS,)
    keyPair: Optional[KeyPair] = None
    stateDirectory: str = DEFAULT_STATE
    profileSigningKeyPair: Optional[KeyPair] = None
    setupPath: str = setuppage.DEFAULT_PATH


def buildSite(
    holder: SnapshotHolder,
    reactor: IReactorTime,
    signerFor: appleprofile.SignerChooser = ProfileSigners().signerFor,
    setupPath: str = setuppage.DEFAULT_PATH,
) -> Site:
    """
    Build the Site that serves every HTTP protocol from C{holder}.

    @param signerFor: Chooses the certificate that signs an Apple profile.
    @param setupPath: The path of the setup page on every host name; C{/}
        serves it only on the C{autoconfig.} and C{autodiscover.} names.
    """
    autoconfigResource = autoconfig.AutoconfigResource(holder)
    routes: dict[bytes, Resource] = {path: autoconfigResource for path in autoconfig.PATHS}
    routes[appleprofile.PATH] = appleprofile.AppleProfileResource(holder, signerFor)
    routes[b"/"] = setuppage.SetupPageResource(holder, "/", anyHost=False)
    routes[normalizePath(setupPath.encode("ascii"))] = setuppage.SetupPageResource(
        holder, setupPath, anyHost=True
    )
    autodiscoverJSON = autodiscover.AutodiscoverJSONResource(holder)
    routes[autodiscover.XML_PATH] = autodiscover.AutodiscoverResource(holder, reactor)
    routes[autodiscover.JSON_PATH] = autodiscoverJSON
    prefixes = [(autodiscover.JSON_PREFIX, autodiscoverJSON)]
    site = MailfrontSite(RootResource(routes, prefixes), reactor)
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


def _profileSigners(config: ServiceConfig, reactor: IReactorTime) -> ProfileSigners:
    """
    Load the configured signing certificate and the HTTPS certificate.

    Call it after L{_tlsOptions}, which generates the self-signed HTTPS
    certificate when none is configured.
    """
    now = datetime.datetime.fromtimestamp(reactor.seconds(), datetime.timezone.utc)
    configured = None
    if config.profileSigningKeyPair is not None:
        configured = loadProfileSigner(config.profileSigningKeyPair, now)
    httpsPair = config.keyPair
    if httpsPair is None and config.https:
        httpsPair = ensureSelfSigned(config.stateDirectory, now)[0]
    https = None if httpsPair is None else loadProfileSigner(httpsPair, now)
    return ProfileSigners(configured=configured, https=https)


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

    tlsOptions = _tlsOptions(config, reactor) if config.https else None  # type: ignore[arg-type]
    signers = _profileSigners(config, reactor)  # type: ignore[arg-type]

    service = MultiService()
    site = buildSite(holder, reactor, signers.signerFor, config.setupPath)  # type: ignore[arg-type]
    for description in config.http:
        endpoint = serverFromString(reactor, description)
        StreamServerEndpointService(endpoint, site).setServiceParent(service)
    if config.https:
        tlsFactory = TLSMemoryBIOFactory(tlsOptions, False, site)  # type: ignore[arg-type]
        for description in config.https:
            endpoint = serverFromString(reactor, description)
            StreamServerEndpointService(endpoint, tlsFactory).setServiceParent(service)
    return service
