"""
The registry: mail providers, their servers, and the domains they serve.

This package is plain Python. It knows nothing of HTTP, DNS or Twisted, so
every protocol renders from the same validated records.
"""

from .errors import ConfigError, InvalidConfiguration
from .load import configFiles, loadDirectory
from .model import (
    Authentication,
    DavServer,
    Description,
    DnsSettings,
    Documentation,
    DomainEntry,
    Enable,
    LoginPageInfo,
    MtaStsPolicy,
    NotifyTarget,
    OAuth2,
    Pop3Options,
    Provider,
    Registry,
    Server,
    SoaSettings,
    TlsReporting,
    WebMail,
)
from .names import InvalidName, normalizeDomain, splitAddress, toUnicode
from .parse import buildRegistry, parseDocument, parseText

__all__ = [
    "Authentication",
    "ConfigError",
    "DavServer",
    "Description",
    "DnsSettings",
    "Documentation",
    "DomainEntry",
    "Enable",
    "InvalidConfiguration",
    "InvalidName",
    "LoginPageInfo",
    "MtaStsPolicy",
    "NotifyTarget",
    "OAuth2",
    "Pop3Options",
    "Provider",
    "Registry",
    "Server",
    "SoaSettings",
    "TlsReporting",
    "WebMail",
    "buildRegistry",
    "configFiles",
    "loadDirectory",
    "normalizeDomain",
    "parseDocument",
    "parseText",
    "splitAddress",
    "toUnicode",
]
