"""
Generated registries of many domains, and the addresses requests are made for.

Every generated provider offers the servers of a typical hosting company:
IMAP on 993 and 143, POP3 on 995, SMTP submission on 465 and 587. Its
domains are listed in the provider table, the form a hosting company with
many customers uses.
"""

from __future__ import annotations

import os
from typing import Iterator, Sequence

import attrs

__all__ = [
    "DNS_TABLE",
    "PROVIDER_COUNT",
    "BenchProvider",
    "BenchRegistry",
    "domainName",
    "writeRegistry",
]

#: Providers of a generated registry; domains are dealt to them in turn.
PROVIDER_COUNT = 10

#: Domain names written per line of a C{domains} array.
_NAMES_PER_LINE = 8


def domainName(index: int) -> str:
    """
    Name the generated domain number C{index}.
    """
    return f"customer-{index:07d}.example"


@attrs.frozen
class BenchProvider:
    """
    One generated provider and the servers it offers.

    @ivar id: The provider's name in the configuration.
    @ivar imapHost: Host name of its IMAP and POP3 servers.
    @ivar smtpHost: Host name of its SMTP submission servers.
    """

    id: str
    imapHost: str
    smtpHost: str

    #: (type, host attribute, port, socket type) of each server, most
    #: preferred first.
    SERVERS = (
        ("imap", "imapHost", 993, "SSL"),
        ("imap", "imapHost", 143, "STARTTLS"),
        ("pop3", "imapHost", 995, "SSL"),
        ("smtp", "smtpHost", 465, "SSL"),
        ("smtp", "smtpHost", 587, "STARTTLS"),
    )

    def servers(self) -> Iterator[tuple[str, str, int, str]]:
        """
        Yield C{(type, hostname, port, socketType)} of each server in order
        of preference.
        """
        for serverType, hostAttribute, port, socketType in self.SERVERS:
            yield serverType, getattr(self, hostAttribute), port, socketType


@attrs.frozen
class BenchRegistry:
    """
    A generated registry on disk.

    @ivar directory: The configuration directory.
    @ivar domainCount: How many domains it serves.
    @ivar providers: Its providers; domain C{i} belongs to
        C{providers[i % len(providers)]}.
    """

    directory: str
    domainCount: int
    providers: Sequence[BenchProvider]

    def providerOf(self, index: int) -> BenchProvider:
        """
        Find the provider that serves domain number C{index}.
        """
        return self.providers[index % len(self.providers)]

    def domains(self) -> Iterator[tuple[int, str]]:
        """
        Yield C{(index, name)} of every domain.
        """
        for index in range(self.domainCount):
            yield index, domainName(index)


def _providers(count: int) -> tuple[BenchProvider, ...]:
    return tuple(
        BenchProvider(
            id=f"bench-hosting-{number:02d}",
            imapHost=f"imap.bench-hosting-{number:02d}.example",
            smtpHost=f"smtp.bench-hosting-{number:02d}.example",
        )
        for number in range(count)
    )


def _providerTable(provider: BenchProvider, names: Sequence[str]) -> str:
    lines = [
        f"[providers.{provider.id}]",
        f'display-name = "Bench Hosting {provider.id[-2:]}"',
        'display-short-name = "Bench"',
        "domains = [",
    ]
    for start in range(0, len(names), _NAMES_PER_LINE):
        chunk = names[start : start + _NAMES_PER_LINE]
        lines.append("  " + ", ".join(f'"{name}"' for name in chunk) + ",")
    lines.append("]")
    for serverType, hostname, port, socketType in provider.servers():
        section = "outgoing" if serverType == "smtp" else "incoming"
        lines += [
            "",
            f"[[providers.{provider.id}.{section}]]",
            f'type = "{serverType}"',
            f'hostname = "{hostname}"',
            f"port = {port}",
            f'socket-type = "{socketType}"',
            'authentication = ["password-cleartext"]',
            'username = "%EMAILADDRESS%"',
        ]
    lines += [
        "",
        f"[[providers.{provider.id}.documentation]]",
        f'url = "https://help.{provider.id}.example/mail/setup"',
        'descriptions = [{ lang = "en", text = "Setting up your mail client" }]',
        "",
    ]
    return "\n".join(lines)


#: The C{[dns]} table of registries that DNS is measured with: the zones of
#: each domain below it, served by mailfront, with an C{_autodiscover._tcp}
#: record pointing at the host that runs mailfront.
DNS_TABLE = """\
[dns]
name-servers = ["ns1.bench-front.example", "ns2.bench-front.example"]
mailfront-hostname = "discovery.bench-front.example"

[dns.soa]
rname = "hostmaster@bench-front.example"
"""


def writeRegistry(
    directory: str, domainCount: int, providerCount: int = PROVIDER_COUNT, dns: bool = False
) -> BenchRegistry:
    """
    Write a configuration directory of C{domainCount} domains, one file per
    provider, unless the directory already contains one of that size.

    @param directory: Created if missing.
    @param dns: Whether to add the L{DNS_TABLE} in C{dns.toml}.
    @return: What the directory describes.
    """
    providers = _providers(min(providerCount, max(domainCount, 1)))
    registry = BenchRegistry(os.path.abspath(directory), domainCount, providers)
    marker = os.path.join(directory, ".complete")
    if os.path.exists(marker):
        with open(marker, encoding="ascii") as f:
            if f.read().strip() == f"{domainCount} {len(providers)} {dns}":
                return registry
    os.makedirs(directory, exist_ok=True)
    for number, provider in enumerate(providers):
        names = [domainName(i) for i in range(number, domainCount, len(providers))]
        path = os.path.join(directory, f"{provider.id}.toml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(_providerTable(provider, names))
    dnsFile = os.path.join(directory, "dns.toml")
    if dns:
        with open(dnsFile, "w", encoding="ascii") as f:
            f.write(DNS_TABLE)
    elif os.path.exists(dnsFile):
        os.remove(dnsFile)
    with open(marker, "w", encoding="ascii") as f:
        f.write(f"{domainCount} {len(providers)} {dns}\n")
    return registry
