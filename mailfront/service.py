"""
Wiring: the listeners and everything they serve, as one MultiService.

The tap module, the twistd plugin and C{mailfront.tac} all call
L{makeMailfrontService}, so every way of starting mailfront builds the same
service.
"""

from __future__ import annotations

import datetime
import gc
import sys
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

from .dns.service import makeDnsService
from .operations import buildOperations
from .watch import Fingerprint, directoryFingerprint
from .profilesigning import ProfileSigners, loadProfileSigner
from .registry import ConfigError, InvalidConfiguration, Registry, loadDirectory
from .snapshot import Snapshot, SnapshotHolder, buildSnapshot
from .tls import (
    CertificateError,
    CertificateSources,
    CertificateStore,
    KeyPair,
    SNIConnectionCreator,
    TLSPolicy,
)
from .tls.acmeclient import AcmeIssuer, AcmeSettings, ChallengeResponses
from .tls.load import loadCertificateStore, logLoadedCertificates
from .tls.renewal import AcmeManager
from .web import acmechallenge, appleprofile, autoconfig, autodiscover, setuppage
from .web.root import MailfrontSite, RequestObserver, RootResource, normalizePath
from .workers import reusePortEndpoint, workerService

__all__ = [
    "ServiceConfig",
    "makeMailfrontService",
    "buildSite",
    "freezeLoadedObjects",
    "prepareSnapshot",
    "DEFAULT_HTTP",
    "DEFAULT_HTTPS",
]

log = Logger()

DEFAULT_CONFIG = "examples/config"
DEFAULT_HTTP = "tcp:8080:interface=127.0.0.1"
DEFAULT_HTTPS = "tcp:8443:interface=127.0.0.1"
DEFAULT_STATE = "mailfront-state"
DEFAULT_ADMIN = "tcp:8081:interface=127.0.0.1"
DEFAULT_POLL_INTERVAL = 2.0

#: The name of the ACME service in the service tree.
ACME_SERVICE_NAME = "acme"
DEFAULT_DNS_INTERFACE = "127.0.0.1"


@attrs.frozen
class ServiceConfig:
    """
    Settings of the service, from the command line or the C{.tac} file.

    @ivar configDirectory: The registry's configuration directory.
    @ivar http: Endpoint descriptions of plain HTTP listeners.
    @ivar https: Endpoint descriptions of listeners that speak TLS.
    @ivar keyPair: The default certificate of the HTTPS listeners, served
        for names no other certificate covers, or C{None} to use a
        self-signed one generated in C{stateDirectory}.
    @ivar stateDirectory: Where mailfront keeps files it makes itself.
    @ivar workers: Processes serving the HTTP and HTTPS listeners together;
        see L{mailfront.workers}. Listeners that workers cannot share (such
        as UDP) belong in worker 0 only, where C{workerIndex} is 0.
    @ivar workerIndex: This process's number among the workers, from 0.
    @ivar workerArguments: The C{twistd mailfront} options that worker 0
        passes on to the workers it starts.
    @ivar logFile: twistd's log file, or C{None} for standard output; the
        other workers log beside it.
    @ivar profileSigningKeyPair: The certificate that signs Apple profiles,
        or C{None} to sign them with the HTTPS certificate of the host name.
    @ivar setupPath: The path that serves the setup page on every host name.
    @ivar certificateDirectory: A directory of certificates chosen by
        server name, or C{None}; see C{docs/tls.md}.
    @ivar tlsPolicy: TLS versions and ciphers of the HTTPS listeners.
    @ivar hostLabels: The labels that, put before a registry domain, form
        the host names clients connect to, such as C{autoconfig}.
    @ivar acme: How to obtain certificates over ACME, or C{None} for no
        ACME.
    @ivar admin: Endpoint description of the admin listener (health,
        readiness, metrics, reload), or C{None} for none.
    @ivar adminTokenFile: The token C{POST /reload} requires; C{None} means
        C{admin-token} in C{stateDirectory}, generated on first start.
    @ivar watch: How to notice configuration changes: C{auto}, C{inotify},
        C{poll} or C{off}.
    @ivar pollInterval: Seconds between checks of the directory when
        polling.
    @ivar dnsPort: UDP and TCP port of the DNS authority, or C{None} for no
        DNS service.
    @ivar dnsInterface: The address the DNS listeners bind to.
    """

    configDirectory: str = DEFAULT_CONFIG
    http: Sequence[str] = (DEFAULT_HTTP,)
    https: Sequence[str] = (DEFAULT_HTTPS,)
    keyPair: Optional[KeyPair] = None
    stateDirectory: str = DEFAULT_STATE
    workers: int = 1
    workerIndex: int = 0
    workerArguments: Sequence[str] = ()
    logFile: Optional[str] = None
    admin: Optional[str] = DEFAULT_ADMIN
    adminTokenFile: Optional[str] = None
    watch: str = "auto"
    pollInterval: float = DEFAULT_POLL_INTERVAL
    profileSigningKeyPair: Optional[KeyPair] = None
    setupPath: str = setuppage.DEFAULT_PATH
    certificateDirectory: Optional[str] = None
    tlsPolicy: TLSPolicy = TLSPolicy()
    hostLabels: tuple[str, ...] = ("autoconfig", "autodiscover")
    acme: Optional[AcmeSettings] = None

    def certificateSources(self) -> CertificateSources:
        """
        Describe where the certificate store is loaded from.
        """
        return CertificateSources(
            defaultPair=self.keyPair,
            stateDirectory=self.stateDirectory,
            certificateDirectory=self.certificateDirectory,
            acmeDirectory=self.acme.storageDirectory if self.acme else None,
            labels=self.hostLabels,
        )
    dnsPort: Optional[int] = None
    dnsInterface: str = DEFAULT_DNS_INTERFACE


def buildSite(
    holder: SnapshotHolder,
    reactor: IReactorTime,
    signerFor: appleprofile.SignerChooser = ProfileSigners().signerFor,
    setupPath: str = setuppage.DEFAULT_PATH,
    challenges: Optional[ChallengeResponses] = None,
    requestObserver: Optional[RequestObserver] = None,
) -> Site:
    """
    Build the Site that serves every HTTP protocol from C{holder}.

    @param signerFor: Chooses the certificate that signs an Apple profile.
    @param setupPath: The path of the setup page on every host name; C{/}
        serves it only on the C{autoconfig.} and C{autodiscover.} names.
    @param challenges: The ACME HTTP-01 key authorizations to serve. Without
        it, every challenge path returns 404.
    @param requestObserver: Observer of every finished request (metrics).
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
    # The challenge prefix comes first so that no later prefix route can
    # take its requests.
    challengeResource = acmechallenge.AcmeChallengeResource(challenges or ChallengeResponses())
    prefixes = [
        (acmechallenge.PREFIX, challengeResource),
        (autodiscover.JSON_PREFIX, autodiscoverJSON),
    ]
    site = MailfrontSite(RootResource(routes, prefixes), reactor, requestObserver)
    return site


def prepareSnapshot(
    config: ServiceConfig,
    registry: Registry,
    generation: int,
    clock: IReactorTime,
    previous: Optional[Snapshot] = None,
) -> Snapshot:
    """
    Load the certificate store for C{registry} and build a snapshot with it.

    A reload calls this with the snapshot it replaces, so that a certificate
    file that became unusable keeps serving its previous certificate.

    @raise mailfront.tls.CertificateError: If the default certificate cannot
        be used and C{previous} has none to keep.
    """
    now = datetime.datetime.fromtimestamp(clock.seconds(), datetime.timezone.utc)
    loaded = loadCertificateStore(
        config.certificateSources(),
        registry.domains,
        now,
        previous.certificates if previous is not None else None,
    )
    if loaded.generatedSelfSigned:
        log.warn(
            "No default certificate configured: generated a self-signed certificate "
            "in {directory} for localhost. Clients will not trust it; configure "
            "--tls-certificate and --tls-key for production.",
            directory=config.stateDirectory,
        )
    logLoadedCertificates(loaded, log, acmeEnabled=config.acme is not None)
    return buildSnapshot(registry, generation, certificates=loaded.store)


def _profileSigners(
    config: ServiceConfig, holder: SnapshotHolder, reactor: IReactorTime
) -> ProfileSigners:
    """
    Load the configured signing certificate, and otherwise sign with the
    current snapshot's HTTPS certificate of each host name. Without HTTPS
    listeners there is no served certificate, so profiles go out unsigned.
    """
    configured = None
    if config.profileSigningKeyPair is not None:
        now = datetime.datetime.fromtimestamp(reactor.seconds(), datetime.timezone.utc)
        configured = loadProfileSigner(config.profileSigningKeyPair, now)
    if not config.https:
        return ProfileSigners(configured=configured)
    return ProfileSigners(configured=configured, certificates=lambda: holder.current.certificates)


#: Seconds the interpreter lets a thread run before it hands the GIL to a
#: waiting one, while a reload builds a snapshot (Python's default is 0.005).
#: Each time the reactor thread returns from a system call it waits for the
#: GIL, so with the default a request waited up to 5 ms several times over.
RELOAD_SWITCH_INTERVAL = 0.0005


def _reloadSnapshot(
    config: ServiceConfig,
    directory: str,
    generation: int,
    holder: SnapshotHolder,
    clock: IReactorTime,
) -> Snapshot:
    """
    Load the configuration and certificates again for a reload.

    Runs in the reload thread. A default certificate that became unusable
    rejects the reload like an invalid configuration file, so the old
    snapshot keeps serving.

    The cyclic garbage collector is off meanwhile. Otherwise the new
    snapshot's objects make it run full collections over millions of
    objects, each holding the GIL for tens of milliseconds: a reload of a
    million domains raised the p99 latency of concurrent requests from 16 to
    240 ms with them, and to 60 ms without them.
    """
    previousInterval = sys.getswitchinterval()
    sys.setswitchinterval(RELOAD_SWITCH_INTERVAL)
    gc.disable()
    try:
        registry = loadDirectory(directory)
        return prepareSnapshot(config, registry, generation, clock, previous=holder.current)
    except CertificateError as e:
        raise InvalidConfiguration([ConfigError(e.path, "", e.reason)]) from None
    finally:
        gc.enable()
        sys.setswitchinterval(previousInterval)


def freezeLoadedObjects() -> None:
    """
    Take every object that exists now out of the cyclic garbage collector's
    view; call it once the service is built.

    With a million domains loaded, one full collection took 80 ms, during
    which no request is served. Frozen objects are still freed when their
    reference count drops to zero; only reference cycles among them are
    never collected.
    """
    gc.collect()
    gc.freeze()


def makeMailfrontService(
    config: ServiceConfig,
    reactor: IReactorCore,
    registry: Optional[Registry] = None,
    loadedFingerprint: Optional[Fingerprint] = None,
) -> MultiService:
    """
    Build the whole mailfront service.

    @param registry: An already loaded registry; loaded from
        C{config.configDirectory} when C{None}.
    @param loadedFingerprint: L{directoryFingerprint} of the configuration
        directory taken before C{registry} was read, so that the watcher
        reloads an edit made in between.
    @raise mailfront.registry.InvalidConfiguration: If the configuration is
        invalid, or DNS is requested without a C{[dns]} table.
    @raise mailfront.tls.CertificateError: If the default certificate cannot
        be used.
    @raise mailfront.tls.InvalidPolicy: If the TLS policy cannot be used.
    @raise mailfront.admin.AdminTokenError: If the admin token file cannot be
        read or created.
    """
    if registry is None:
        loadedFingerprint = directoryFingerprint(config.configDirectory)
        registry = loadDirectory(config.configDirectory)
    config.tlsPolicy.check()
    holder = SnapshotHolder(prepareSnapshot(config, registry, 1, reactor))  # type: ignore[arg-type]
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
        load=lambda directory, generation: _reloadSnapshot(
            config, directory, generation, holder, reactor  # type: ignore[arg-type]
        ),
        loadedFingerprint=loadedFingerprint,
    )
    operations.service.setServiceParent(service)
    # The new snapshot's objects leave the collector's view, as the first
    # snapshot's do after start (see freezeLoadedObjects).
    holder.addObserver(lambda previous, current: gc.freeze())
    challenges = ChallengeResponses()
    signers = _profileSigners(config, holder, reactor)  # type: ignore[arg-type]
    site = buildSite(
        holder,
        reactor,  # type: ignore[arg-type]
        signers.signerFor,
        config.setupPath,
        challenges,
        operations.metrics,
    )
    makeEndpoint = serverFromString if config.workers == 1 else reusePortEndpoint
    for description in config.http:
        endpoint = makeEndpoint(reactor, description)
        StreamServerEndpointService(endpoint, site).setServiceParent(service)
    if config.https:
        creator = SNIConnectionCreator(lambda: _certificates(holder), config.tlsPolicy)
        tlsFactory = TLSMemoryBIOFactory(creator, False, site)
        for description in config.https:
            endpoint = makeEndpoint(reactor, description)
            StreamServerEndpointService(endpoint, tlsFactory).setServiceParent(service)
    if config.workers > 1:
        workerService(
            reactor,
            config.workers,
            config.workerIndex,
            config.workerArguments,
            config.logFile,
            holder,
        ).setServiceParent(service)
    # Workers share only the HTTP and HTTPS listeners, so DNS runs in worker 0.
    if config.dnsPort is not None and config.workerIndex == 0:
        if holder.current.dns is None:
            raise InvalidConfiguration(
                [ConfigError(config.configDirectory, "dns", "missing; DNS needs a [dns] table")]
            )
        makeDnsService(
            holder, reactor, config.dnsPort, config.dnsInterface, config.stateDirectory
        ).setServiceParent(service)
    if config.acme is not None:
        # Added last, so the listeners that serve challenges start first.
        _acmeManager(config, config.acme, holder, challenges, reactor).setServiceParent(service)
    return service


def _certificates(holder: SnapshotHolder) -> CertificateStore:
    store = holder.current.certificates
    assert store is not None, "snapshots of the service are built with prepareSnapshot"
    return store


def _acmeManager(
    config: ServiceConfig,
    settings: AcmeSettings,
    holder: SnapshotHolder,
    challenges: ChallengeResponses,
    reactor: IReactorCore,
) -> AcmeManager:
    issuer = AcmeIssuer(settings, challenges, reactor)  # type: ignore[arg-type]
    manager = AcmeManager(
        holder,
        issuer,
        reactor,  # type: ignore[arg-type]
        config.certificateSources().hostNames,
        settings.orderInterval,
    )
    # Named so that metrics can find its counters with getServiceNamed.
    manager.setName(ACME_SERVICE_NAME)
    return manager
