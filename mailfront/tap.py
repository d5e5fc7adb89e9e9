"""
The C{twistd mailfront} command line.
"""

from __future__ import annotations

import ipaddress
import os
import re
import sys
from typing import Optional, Sequence

from twisted.application.service import IService
from twisted.internet.endpoints import serverFromString
from twisted.python import usage

from .admin import AdminTokenError
from .registry import InvalidConfiguration, loadDirectory
from .service import (
    DEFAULT_ADMIN,
    DEFAULT_CONFIG,
    DEFAULT_DNS_INTERFACE,
    DEFAULT_HTTP,
    DEFAULT_HTTPS,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_STATE,
    ServiceConfig,
    freezeLoadedObjects,
    makeMailfrontService,
)
from .tls import DEFAULT_CIPHERS, CertificateError, InvalidPolicy, KeyPair, TLSPolicy
from .tls.acmeclient import LETS_ENCRYPT, LETS_ENCRYPT_STAGING, AcmeSettings
from .web import appleprofile, autoconfig
from .web.root import normalizePath
from .web.setuppage import DEFAULT_PATH as DEFAULT_SETUP_PATH
from .workers import InvalidWorkerListener, reusePortEndpoint

from .watch import WATCH_MODES, directoryFingerprint

#: Short names accepted by --acme-directory.
ACME_DIRECTORIES = {"letsencrypt": LETS_ENCRYPT, "letsencrypt-staging": LETS_ENCRYPT_STAGING}

__all__ = ["Options", "makeService"]

_SETUP_PATH = re.compile(r"^/[A-Za-z0-9._/-]+$")


class Options(usage.Options):
    """
    Options of C{twistd mailfront}.
    """

    synopsis = "[options]"
    longdesc = (
        "Serve mail client auto-configuration (Autoconfig) for the domains "
        "of a configuration directory. Without --http or --https, listens on "
        f"{DEFAULT_HTTP} (HTTP) and {DEFAULT_HTTPS} (HTTPS). SIGHUP, a change in the "
        "configuration directory or POST /reload on the admin listener reloads "
        "the configuration without a restart."
    )

    optParameters = [
        ["config", "c", DEFAULT_CONFIG, "Configuration directory of *.toml files."],
        [
            "tls-certificate",
            None,
            None,
            "Default certificate (PEM, full chain) of the --https listeners, served "
            "for server names no other certificate covers. Without it, a "
            "self-signed certificate is generated in the state directory.",
        ],
        ["tls-key", None, None, "PEM private key of --tls-certificate."],
        [
            "tls-dir",
            None,
            None,
            "Directory of certificates chosen by server name: NAME.pem full chains "
            "with the key inside or in NAME.key, or subdirectories with "
            "fullchain.pem and privkey.pem.",
        ],
        ["tls-min-version", None, "1.2", "Lowest TLS version accepted: 1.2 or 1.3."],
        ["tls-ciphers", None, DEFAULT_CIPHERS, "OpenSSL cipher string for TLS 1.2."],
        [
            "tls-names",
            None,
            "autoconfig,autodiscover",
            "Comma-separated labels that, put before each configured domain, form "
            "the host names served over HTTPS (add mta-sts when serving MTA-STS).",
        ],
        [
            "acme-directory",
            None,
            None,
            "Obtain certificates for the --tls-names of every domain from this ACME "
            "directory URL; letsencrypt and letsencrypt-staging name Let's "
            "Encrypt's. Using it accepts the ACME server's terms of service.",
        ],
        ["acme-email", None, None, "Contact email address for the ACME account."],
        [
            "acme-dir",
            None,
            None,
            "Directory for the ACME account key and certificates "
            "(default: STATE-DIR/acme).",
        ],
        [
            "acme-ca-bundle",
            None,
            None,
            "PEM CA certificates to trust for the ACME server's HTTPS instead of the "
            "system's, for a test ACME server.",
        ],
        [
            "acme-order-interval",
            None,
            36.0,
            "Minimum seconds between two ACME orders.",
            float,
        ],
        ["state-dir", None, DEFAULT_STATE, "Directory for files mailfront generates."],
        [
            "workers",
            None,
            1,
            "Processes serving the --http and --https listeners together, at most one "
            "per CPU core; more than 1 needs tcp: listeners.",
            int,
        ],
        ["worker-index", None, 0, "Set by mailfront on the workers it starts.", int],
        [
            "profile-signing-certificate",
            None,
            None,
            "PEM certificate (full chain) that signs Apple configuration profiles. "
            "Without it, profiles are signed with the HTTPS certificate of the "
            "requested host name.",
        ],
        ["profile-signing-key", None, None, "PEM private key of --profile-signing-certificate."],
        [
            "setup-path",
            None,
            DEFAULT_SETUP_PATH,
            "URL path of the setup page for people on every host name; / serves it "
            "on autoconfig.* and autodiscover.* host names only.",
        ],
        [
            "admin",
            None,
            DEFAULT_ADMIN,
            "Twisted endpoint of the admin listener (/healthz, /readyz, /metrics, "
            "POST /reload). Keep it on loopback or a private network.",
        ],
        [
            "admin-token-file",
            None,
            None,
            "File with the bearer token that POST /reload requires. Default: "
            "admin-token in the state directory, generated on first start.",
        ],
        [
            "watch",
            None,
            "auto",
            "Reload when the configuration directory changes: auto (inotify on "
            "Linux, polling elsewhere), inotify, poll or off. SIGHUP always reloads.",
        ],
        [
            "poll-interval",
            None,
            DEFAULT_POLL_INTERVAL,
            "Seconds between checks of the configuration directory when polling.",
            float,
        ],
        [
            "dns-port",
            None,
            None,
            "Serve the DNS zones of the [dns] table on this UDP and TCP port "
            "(off by default).",
        ],
        [
            "dns-interface",
            None,
            DEFAULT_DNS_INTERFACE,
            "IPv4 or IPv6 address the DNS listeners bind to.",
        ],
    ]

    optFlags = [["no-admin", None, "Do not start the admin listener."]]

    def __init__(self) -> None:
        super().__init__()
        self["http"] = []
        self["https"] = []

    def parseOptions(self, options: Optional[Sequence[str]] = None) -> None:
        # Kept so that worker 0 can start the other workers with the same
        # options.
        self.arguments = list(sys.argv[1:] if options is None else options)
        super().parseOptions(options)

    def opt_http(self, description: str) -> None:
        """
        Serve plain HTTP on a Twisted endpoint, e.g. tcp:80 (repeatable).
        """
        self["http"].append(description)

    def opt_https(self, description: str) -> None:
        """
        Serve HTTPS (mailfront speaks TLS) on a plain endpoint, e.g. tcp:443.
        """
        self["https"].append(description)

    def postOptions(self) -> None:
        self._checkListeners()
        self._checkTLS()
        self._checkWorkers()
        self._checkReload()

        try:
            self["loaded-fingerprint"] = directoryFingerprint(self["config"])
            self["registry"] = loadDirectory(self["config"])
        except InvalidConfiguration as e:
            raise usage.UsageError(str(e)) from None
        self._checkDnsOptions()

    def _checkListeners(self) -> None:
        if not self["http"] and not self["https"]:
            self["http"] = [DEFAULT_HTTP]
            self["https"] = [DEFAULT_HTTPS]
        for description in self["https"]:
            if description.split(":", 1)[0].lower() in ("ssl", "tls", "le", "lets"):
                raise usage.UsageError(
                    f"--https {description}: mailfront speaks TLS itself with its own "
                    "certificates, so give a plain endpoint such as tcp:443"
                )
        _checkEndpoints(self)
        self["setup-path"] = _checkSetupPath(self["setup-path"])

    def _checkTLS(self) -> None:
        if bool(self["tls-certificate"]) != bool(self["tls-key"]):
            raise usage.UsageError("--tls-certificate and --tls-key must be given together")
        if bool(self["profile-signing-certificate"]) != bool(self["profile-signing-key"]):
            raise usage.UsageError(
                "--profile-signing-certificate and --profile-signing-key must be given together"
            )
        self["labels"] = _labels(self["tls-names"])
        self["policy"] = TLSPolicy(self["tls-min-version"], self["tls-ciphers"])
        try:
            self["policy"].check()
        except InvalidPolicy as e:
            raise usage.UsageError(str(e)) from None
        self["acme"] = self._acmeSettings()

    def _checkReload(self) -> None:
        if self["watch"] not in WATCH_MODES:
            raise usage.UsageError(
                f"--watch must be one of {', '.join(WATCH_MODES)}, not {self['watch']!r}"
            )
        if not self["poll-interval"] > 0:
            raise usage.UsageError(
                f"--poll-interval must be a positive number of seconds, not {self['poll-interval']}"
            )

    def _checkDnsOptions(self) -> None:
        try:
            ipaddress.ip_address(self["dns-interface"])
        except ValueError:
            raise usage.UsageError(
                f"--dns-interface: {self['dns-interface']!r} is not an IPv4 or IPv6 address"
            ) from None
        if self["dns-port"] is None:
            return
        port = self["dns-port"]
        if not (port.isdigit() and 1 <= int(port) <= 65535):
            raise usage.UsageError(f"--dns-port: {port!r} is not a port number from 1 to 65535")
        self["dns-port"] = int(port)
        if self["registry"].dns is None:
            raise usage.UsageError(
                f"--dns-port needs a [dns] table in {self['config']}; see docs/dns.md"
            )

    def _checkWorkers(self) -> None:
        if self["workers"] < 1:
            raise usage.UsageError(f"--workers must be 1 or more, not {self['workers']}")
        if self["workers"] == 1:
            return
        if self["acme-directory"] is not None:
            raise usage.UsageError(
                "--acme-directory needs --workers 1: the answers to ACME challenges "
                "are kept in the memory of one process"
            )
        for description in [*self["http"], *self["https"]]:
            try:
                reusePortEndpoint(None, description)
            except InvalidWorkerListener as e:
                raise usage.UsageError(str(e)) from None

    def _logFile(self) -> Optional[str]:
        """
        Find twistd's log file: C{None} for standard output.
        """
        twistd = self.parent
        if twistd is None:
            return None
        logFile: Optional[str] = twistd.get("logfile")
        if logFile:
            return None if logFile == "-" else logFile
        # twistd logs to standard output in the foreground, else to twistd.log.
        return None if twistd.get("nodaemon") else "twistd.log"

    def serviceConfig(self) -> ServiceConfig:
        """
        Convert the options to a L{ServiceConfig}.
        """
        keyPair = None
        if self["tls-certificate"]:
            keyPair = KeyPair(self["tls-certificate"], self["tls-key"])
        signingKeyPair = None
        if self["profile-signing-certificate"]:
            signingKeyPair = KeyPair(
                self["profile-signing-certificate"], self["profile-signing-key"]
            )
        return ServiceConfig(
            configDirectory=self["config"],
            http=tuple(self["http"]),
            https=tuple(self["https"]),
            keyPair=keyPair,
            stateDirectory=self["state-dir"],
            workers=self["workers"],
            workerIndex=self["worker-index"],
            workerArguments=tuple(self.arguments),
            logFile=self._logFile(),
            profileSigningKeyPair=signingKeyPair,
            setupPath=self["setup-path"],
            certificateDirectory=self["tls-dir"],
            tlsPolicy=self["policy"],
            hostLabels=self["labels"],
            acme=self["acme"],
            # Workers other than worker 0 reload when worker 0 tells them to,
            # and leave the admin listener to it.
            admin=None if self["no-admin"] or self["worker-index"] else self["admin"],
            adminTokenFile=self["admin-token-file"],
            watch="off" if self["worker-index"] else self["watch"],
            pollInterval=self["poll-interval"],
            dnsPort=self["dns-port"],
            dnsInterface=self["dns-interface"],
        )

    def _acmeSettings(self) -> AcmeSettings | None:
        directory = self["acme-directory"]
        if directory is None:
            given = [f"--{name}" for name in _ACME_OPTIONS if self[name] is not None]
            if given:
                raise usage.UsageError(f"{', '.join(given)} needs --acme-directory")
            return None
        url = ACME_DIRECTORIES.get(directory, directory)
        if not url.startswith(("https://", "http://")):
            raise usage.UsageError(
                f"--acme-directory {directory!r} is not a URL; give the ACME directory "
                "URL or one of " + ", ".join(sorted(ACME_DIRECTORIES))
            )
        if not self["http"]:
            raise usage.UsageError(
                "--acme-directory needs an --http listener reachable on port 80, "
                "which answers the ACME HTTP-01 challenges"
            )
        if self["acme-order-interval"] < 0:
            raise usage.UsageError("--acme-order-interval must not be negative")
        return AcmeSettings(
            directoryURL=url,
            storageDirectory=self["acme-dir"] or os.path.join(self["state-dir"], "acme"),
            email=self["acme-email"],
            caBundle=self["acme-ca-bundle"],
            orderInterval=self["acme-order-interval"],
        )


#: Options that mean nothing without --acme-directory.
_ACME_OPTIONS = ("acme-email", "acme-dir", "acme-ca-bundle")


def _labels(text: str) -> tuple[str, ...]:
    labels = tuple(label.strip().lower() for label in text.split(",") if label.strip())
    for label in labels:
        if not label.replace("-", "").isalnum() or label.startswith("-") or len(label) > 63:
            raise usage.UsageError(f"--tls-names: {label!r} is not a DNS label")
    return labels


def _checkSetupPath(path: str) -> str:
    """
    Check a C{--setup-path} value.

    @raise usage.UsageError: If it is not an absolute path of plain
        characters, or another endpoint already uses it.
    """
    if not _SETUP_PATH.match(path):
        raise usage.UsageError(
            f"--setup-path {path!r} is not a path such as /setup "
            "(letters, digits, '-', '_', '.' and '/', starting with '/')"
        )
    usedPaths = {*autoconfig.PATHS, appleprofile.PATH, b"/"}
    if normalizePath(path.encode("ascii")) in usedPaths:
        raise usage.UsageError(f"--setup-path {path!r} is already used by another endpoint")
    return path


def makeService(options: Options) -> IService:
    """
    Build the service from parsed options.
    """
    from twisted.internet import reactor

    try:
        service = makeMailfrontService(
            options.serviceConfig(),
            reactor,  # type: ignore[arg-type]
            registry=options["registry"],
            loadedFingerprint=options["loaded-fingerprint"],
        )
    except (CertificateError, AdminTokenError) as e:
        # twistd turns a UsageError into a message only while it parses
        # options; here it would print a traceback, so exit with the message.
        raise SystemExit(f"mailfront: {e}") from None
    freezeLoadedObjects()
    return service


def _checkEndpoints(options: Options) -> None:
    """
    Parse every listener description, so that a typo is reported as a
    usage error naming the option instead of a traceback at start.
    """
    from twisted.internet import reactor

    descriptions = [("--http", d) for d in options["http"]]
    descriptions += [("--https", d) for d in options["https"]]
    if options["admin"] and not options["no-admin"]:
        descriptions.append(("--admin", options["admin"]))
    for option, description in descriptions:
        try:
            serverFromString(reactor, description)
        except (ValueError, KeyError, TypeError, OSError) as e:
            raise usage.UsageError(
                f"{option} {description}: not a valid Twisted endpoint description ({e}); "
                "write one such as tcp:8080:interface=127.0.0.1"
            ) from None
