"""
The C{twistd mailfront} command line.
"""

from __future__ import annotations

import ipaddress

from twisted.application.service import IService
from twisted.python import usage

from .registry import InvalidConfiguration, loadDirectory
from .service import (
    DEFAULT_CONFIG,
    DEFAULT_DNS_INTERFACE,
    DEFAULT_HTTP,
    DEFAULT_HTTPS,
    DEFAULT_STATE,
    ServiceConfig,
    makeMailfrontService,
)
from .tls import CertificateError, KeyPair

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
        try:
            self["registry"] = loadDirectory(self["config"])
        except InvalidConfiguration as e:
            raise usage.UsageError(str(e)) from None
        self._checkDnsOptions()

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
            dnsPort=self["dns-port"],
            dnsInterface=self["dns-interface"],
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
