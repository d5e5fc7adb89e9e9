"""
Configurations whose every Autoconfig field names the version it came from,
so a test can tell which snapshot produced a response and catch a response
that mixes two.
"""

from __future__ import annotations

import os

from lxml import etree

__all__ = [
    "DOMAIN",
    "FILE_NAME",
    "INVALID_SYNTAX",
    "invalidVersion",
    "validVersion",
    "versionsOf",
    "writeConfig",
]

#: The only domain of every version.
DOMAIN = "load.example"

#: The file each version is written to.
FILE_NAME = "service.toml"

#: A version that TOML cannot parse.
INVALID_SYNTAX = '[providers.versioned\ndisplay-name = "broken"\n'

_PORTS = {"a": (10001, 10002), "b": (20001, 20002), "c": (70001, 70002)}


def validVersion(version: str, extraDomains: int = 0) -> str:
    """
    Write a configuration in which every field names C{version} (C{"a"} or
    C{"b"}): display names, host names, ports, user name, help URL.

    @param extraDomains: How many more domains the provider serves, to make
        loading the configuration take longer.
    """
    incomingPort, outgoingPort = _PORTS[version]
    domains = [DOMAIN] + [f"d{i}.{DOMAIN}" for i in range(extraDomains)]
    domainList = ", ".join(f'"{name}"' for name in domains)
    return f"""
[providers.versioned]
display-name = "Version {version}"
display-short-name = "V{version}"
domains = [{domainList}]

[[providers.versioned.incoming]]
type = "imap"
hostname = "imap-{version}.{DOMAIN}"
port = {incomingPort}
socket-type = "SSL"
authentication = ["password-cleartext"]
username = "%EMAILLOCALPART%.{version}"

[[providers.versioned.outgoing]]
type = "smtp"
hostname = "smtp-{version}.{DOMAIN}"
port = {outgoingPort}
socket-type = "SSL"
authentication = ["password-cleartext"]
username = "%EMAILLOCALPART%.{version}"

[[providers.versioned.documentation]]
url = "https://help.{DOMAIN}/{version}/setup"
"""


def invalidVersion(extraDomains: int = 0) -> str:
    """
    Write a version C{"c"} that parses as TOML but fails validation (its
    ports are out of range), so applying any part of it would show C{c}.
    """
    return validVersion("c", extraDomains)


def writeConfig(directory: str, text: str) -> None:
    """
    Replace the configuration file in one step, as an operator's deployment
    tool would: write a hidden temporary file, then rename it.
    """
    temporary = os.path.join(directory, "." + FILE_NAME + ".new")
    with open(temporary, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(temporary, os.path.join(directory, FILE_NAME))


def _versionOfHost(hostname: str) -> str:
    return hostname.split(".", 1)[0].rsplit("-", 1)[1]


def versionsOf(document: bytes) -> list[str]:
    """
    Read the version named by each versioned field of an Autoconfig document.

    @return: One version letter per field, in document order; a consistent
        document has the same letter everywhere.
    """
    root = etree.fromstring(document)
    provider = root.find("emailProvider")
    assert provider is not None, document
    incoming = provider.find("incomingServer")
    outgoing = provider.find("outgoingServer")
    assert incoming is not None and outgoing is not None, document
    portVersions = {str(ports[0]): v for v, ports in _PORTS.items()}
    portVersions.update({str(ports[1]): v for v, ports in _PORTS.items()})
    documentation = provider.find("documentation")
    assert documentation is not None, document
    return [
        provider.findtext("displayName", "").removeprefix("Version "),
        provider.findtext("displayShortName", "").removeprefix("V"),
        _versionOfHost(incoming.findtext("hostname", "")),
        portVersions[incoming.findtext("port", "")],
        incoming.findtext("username", "").rsplit(".", 1)[1],
        _versionOfHost(outgoing.findtext("hostname", "")),
        portVersions[outgoing.findtext("port", "")],
        outgoing.findtext("username", "").rsplit(".", 1)[1],
        documentation.get("url", "").split("/")[3],
    ]
