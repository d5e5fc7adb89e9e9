"""
The C{twistd mailfront} command line.
"""

from __future__ import annotations

from twisted.application.service import IService
from twisted.python import usage

from .admin import AdminTokenError
from .registry import InvalidConfiguration, loadDirectory
from .service import (
    DEFAULT_ADMIN,
    DEFAULT_CONFIG,
    DEFAULT_HTTP,
    DEFAULT_HTTPS,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_STATE,
    ServiceConfig,
    makeMailfrontService,
)
from .tls import CertificateError, KeyPair
from .watch import WATCH_MODES

__all__ = ["Options", "makeService"]


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
            "PEM certificate (full chain) for --https listeners. Without it, a "
            "self-signed certificate is generated in the state directory.",
        ],
        ["tls-key", None, None, "PEM private key of --tls-certificate."],
        ["state-dir", None, DEFAULT_STATE, "Directory for files mailfront generates."],
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
    ]

    optFlags = [["no-admin", None, "Do not start the admin listener."]]

    def __init__(self) -> None:
        super().__init__()
        self["http"] = []
        self["https"] = []

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
        if self["watch"] not in WATCH_MODES:
            raise usage.UsageError(
                f"--watch must be one of {', '.join(WATCH_MODES)}, not {self['watch']!r}"
            )
        if not self["poll-interval"] > 0:
            raise usage.UsageError(
                f"--poll-interval must be a positive number of seconds, not {self['poll-interval']}"
            )
        try:
            self["registry"] = loadDirectory(self["config"])
        except InvalidConfiguration as e:
            raise usage.UsageError(str(e)) from None

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
            admin=None if self["no-admin"] else self["admin"],
            adminTokenFile=self["admin-token-file"],
            watch=self["watch"],
            pollInterval=self["poll-interval"],
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
    except (CertificateError, AdminTokenError) as e:
        raise usage.UsageError(str(e)) from None
