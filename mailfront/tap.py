"""
The C{twistd mailfront} command line.
"""

from __future__ import annotations

import re
import sys
from typing import Optional, Sequence

from twisted.application.service import IService
from twisted.python import usage

from .registry import InvalidConfiguration, loadDirectory
from .service import (
    DEFAULT_CONFIG,
    DEFAULT_HTTP,
    DEFAULT_HTTPS,
    DEFAULT_STATE,
    ServiceConfig,
    freezeLoadedObjects,
    makeMailfrontService,
)
from .tls import CertificateError, KeyPair
from .web import appleprofile, autoconfig
from .web.root import normalizePath
from .web.setuppage import DEFAULT_PATH as DEFAULT_SETUP_PATH
from .workers import InvalidWorkerListener, reusePortEndpoint

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
        f"{DEFAULT_HTTP} (HTTP) and {DEFAULT_HTTPS} (HTTPS)."
    )

    optParameters = [
        ["config", "c", DEFAULT_CONFIG, "Configuration directory of *.toml files."],
        [
            "tls-certificate",
            None,
            None,
            "PEM certificate (full chain) for --https listeners. Without it, a "
            "self-signed certificate is generated in the state directory.",
        ],
        ["tls-key", None, None, "PEM private key of --tls-certificate."],
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
            "Without it, profiles are signed with the HTTPS certificate.",
        ],
        ["profile-signing-key", None, None, "PEM private key of --profile-signing-certificate."],
        [
            "setup-path",
            None,
            DEFAULT_SETUP_PATH,
            "URL path of the setup page for people on every host name; / serves it "
            "on autoconfig.* and autodiscover.* host names only.",
        ],
    ]

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
        if not self["http"] and not self["https"]:
            self["http"] = [DEFAULT_HTTP]
            self["https"] = [DEFAULT_HTTPS]
        if bool(self["tls-certificate"]) != bool(self["tls-key"]):
            raise usage.UsageError("--tls-certificate and --tls-key must be given together")
        self._checkWorkers()
        if bool(self["profile-signing-certificate"]) != bool(self["profile-signing-key"]):
            raise usage.UsageError(
                "--profile-signing-certificate and --profile-signing-key must be given together"
            )
        self["setup-path"] = _checkSetupPath(self["setup-path"])
        try:
            self["registry"] = loadDirectory(self["config"])
        except InvalidConfiguration as e:
            raise usage.UsageError(str(e)) from None

    def _checkWorkers(self) -> None:
        if self["workers"] < 1:
            raise usage.UsageError(f"--workers must be 1 or more, not {self['workers']}")
        if self["workers"] == 1:
            return
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
        )


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
            options.serviceConfig(), reactor, registry=options["registry"]  # type: ignore[arg-type]
        )
    except CertificateError as e:
        raise usage.UsageError(str(e)) from None
    freezeLoadedObjects()
    return service
