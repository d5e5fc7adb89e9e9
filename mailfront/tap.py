"""
The C{twistd mailfront} command line.
"""

from __future__ import annotations

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
    makeMailfrontService,
)
from .tls import CertificateError, KeyPair
from .workers import InvalidWorkerListener, reusePortEndpoint

__all__ = ["Options", "makeService"]


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
        Serve plain HTTP on a Twisted endpoint, such as
        tcp:80:interface=0.0.0.0 (repeatable).
        """
        self["http"].append(description)

    def opt_https(self, description: str) -> None:
        """
        Serve HTTPS on a Twisted endpoint; mailfront speaks TLS itself, so
        write a plain tcp: description such as tcp:443 (repeatable).
        """
        self["https"].append(description)

    def postOptions(self) -> None:
        if not self["http"] and not self["https"]:
            self["http"] = [DEFAULT_HTTP]
            self["https"] = [DEFAULT_HTTPS]
        if bool(self["tls-certificate"]) != bool(self["tls-key"]):
            raise usage.UsageError("--tls-certificate and --tls-key must be given together")
        self._checkWorkers()
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
        )


def makeService(options: Options) -> IService:
    """
    Build the service from parsed options.
    """
    from twisted.internet import reactor

    try:
        return makeMailfrontService(
            options.serviceConfig(), reactor, registry=options["registry"]  # type: ignore[arg-type]
        )
    except CertificateError as e:
        raise usage.UsageError(str(e)) from None
