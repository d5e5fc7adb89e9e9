"""
Tests of the C{[dns]} table and the C{mta-sts} and C{tls-rpt} settings of
the configuration format.
"""

from __future__ import annotations

from typing import Optional

from twisted.trial.unittest import SynchronousTestCase

from mailfront.registry import (
    DnsSettings,
    InvalidConfiguration,
    MtaStsPolicy,
    NotifyTarget,
    Registry,
    SoaSettings,
    TlsReporting,
    buildRegistry,
    parseText,
)

#: A provider every document below can give domains to.
PROVIDER = """
[providers.hosting]
domains = ["example.com"]
[[providers.hosting.incoming]]
type = "imap"
hostname = "mail.example.net"
port = 993
socket-type = "SSL"
authentication = ["password-cleartext"]
[[providers.hosting.outgoing]]
type = "smtp"
hostname = "mail.example.net"
port = 465
socket-type = "SSL"
authentication = ["password-cleartext"]
"""

#: The smallest valid [dns] table.
MINIMAL_DNS = """
[dns]
name-servers = ["ns1.example.net"]
[dns.soa]
rname = "hostmaster@example.net"
"""


def errors(text: str, path: str = "dns.toml") -> list[str]:
    """
    Parse a document and return its problems as text.
    """
    return [str(error) for error in parseText(path, text).errors]


def registry(*texts: str) -> Registry:
    """
    Build a registry from documents named C{0.toml}, C{1.toml}, ...
    """
    return buildRegistry(parseText(f"{index}.toml", text) for index, text in enumerate(texts))


def rejection(*texts: str) -> list[str]:
    """
    Build a registry that must be rejected and return the problems.
    """
    try:
        registry(*texts)
    except InvalidConfiguration as e:
        return [str(error) for error in e.errors]
    raise AssertionError("the configuration was accepted")


class DnsTableTests(SynchronousTestCase):
    """
    The C{[dns]} table.
    """

    def test_defaults(self) -> None:
        """
        A table with only name servers and a contact gets a TTL of 3600, the
        C{subdomains} layout, the usual SOA timers, and no transfer or
        NOTIFY peers.
        """
        dns = registry(PROVIDER, MINIMAL_DNS).dns
        self.assertEqual(
            dns,
            DnsSettings(
                ttl=3600,
                nameServers=("ns1.example.net",),
                soa=SoaSettings(rname="hostmaster.example.net"),
                zoneLayout="subdomains",
                source="1.toml",
            ),
        )
        self.assertEqual(
            (dns.soa.refresh, dns.soa.retry, dns.soa.expire, dns.soa.minimum),
            (3600, 600, 1209600, 300),
        )

    def test_noTable(self) -> None:
        """
        A configuration without a C{[dns]} table has no DNS settings.
        """
        self.assertIsNone(registry(PROVIDER).dns)

    def test_everyKey(self) -> None:
        """
        Every key is read, names are normalized to lower-case A-labels, and
        addresses to their compressed form.
        """
        dns = registry(
            PROVIDER,
            """
            [dns]
            ttl = 300
            name-servers = ["NS1.Example.NET.", "ns2.bücher.example"]
            zone-layout = "domain"
            mailfront-addresses = ["192.0.2.10", "2001:DB8:0::10"]
            allow-transfer = ["192.0.2.53", "2001:db8::/32"]
            notify = ["192.0.2.53", "192.0.2.54:5300", "2001:db8::53", "[2001:db8::54]:5301"]
            [dns.soa]
            mname = "NS1.example.net"
            rname = "dns-admin@Example.NET"
            refresh = 7200
            retry = 900
            expire = 604800
            minimum = 60
            """,
        ).dns
        self.assertEqual(dns.ttl, 300)
        self.assertEqual(dns.nameServers, ("ns1.example.net", "ns2.xn--bcher-kva.example"))
        self.assertEqual(dns.zoneLayout, "domain")
        self.assertEqual(dns.mailfrontAddresses, ("192.0.2.10", "2001:db8::10"))
        self.assertEqual(dns.allowTransfer, ("192.0.2.53/32", "2001:db8::/32"))
        self.assertEqual(
            dns.notify,
            (
                NotifyTarget("192.0.2.53", 53),
                NotifyTarget("192.0.2.54", 5300),
                NotifyTarget("2001:db8::53", 53),
                NotifyTarget("2001:db8::54", 5301),
            ),
        )
        self.assertEqual(
            dns.soa, SoaSettings("dns-admin.example.net", "ns1.example.net", 7200, 900, 604800, 60)
        )

    def test_missingKeys(self) -> None:
        """
        A table without name servers or a SOA table names both keys.
        """
        self.assertEqual(
            errors("[dns]\nttl = 60\n"),
            [
                "dns.toml: dns.name-servers: missing; the host names of the NS records of "
                "every zone",
                "dns.toml: dns.soa: missing; add a [dns.soa] table with at least rname",
            ],
        )

    def test_missingContact(self) -> None:
        """
        A SOA table without C{rname} is rejected.
        """
        found = errors('[dns]\nname-servers = ["ns1.example.net"]\n[dns.soa]\nrefresh = 60\n')
        self.assertEqual(
            found,
            [
                "dns.toml: dns.soa.rname: missing; the mailbox responsible for the zones, "
                "such as hostmaster@example.net"
            ],
        )

    def test_invalidValues(self) -> None:
        """
        Each invalid value is reported with its key and the reason.
        """
        found = errors(
            """
            [dns]
            ttl = -1
            name-servers = ["ns1.%EMAILDOMAIN%", "-bad-.example"]
            zone-layout = "zones"
            allow-transfer = ["192.0.2.1/24", "localhost"]
            notify = ["192.0.2.1:x", "192.0.2.1:70000", "ns.example.net"]
            [dns.soa]
            rname = "host.master@example.net"
            expire = "1w"
            """
        )
        self.assertEqual(
            found,
            [
                "dns.toml: dns.ttl: -1 is out of range; use 0 to 2147483647 seconds",
                "dns.toml: dns.name-servers[0]: 'ns1.%EMAILDOMAIN%': placeholders are not "
                "allowed in DNS names",
                "dns.toml: dns.name-servers[1]: invalid host name: '-bad-.example' is not a "
                "valid domain name: Label must not start or end with a hyphen",
                "dns.toml: dns.soa.rname: the local part 'host.master' must be letters, digits, "
                "'_', '+' or '-', because it becomes one DNS label; use a mailbox such as "
                "hostmaster@",
                "dns.toml: dns.soa.expire: expected an integer number of seconds, found a string",
                "dns.toml: dns.zone-layout: unknown layout 'zones'; use 'subdomains' or 'domain'",
                "dns.toml: dns.allow-transfer[0]: '192.0.2.1/24' is not an address or network: "
                "192.0.2.1/24 has host bits set",
                "dns.toml: dns.allow-transfer[1]: 'localhost' is not an address or network: "
                "'localhost' does not appear to be an IPv4 or IPv6 network",
                "dns.toml: dns.notify[0]: '192.0.2.1:x': the port after ':' must be a number",
                "dns.toml: dns.notify[1]: port 70000 is out of range; use 1 to 65535",
                "dns.toml: dns.notify[2]: 'ns.example.net' is not an address, address:port or "
                "[IPv6 address]:port",
            ],
        )

    def test_unknownKey(self) -> None:
        """
        A misspelt key gets a suggestion.
        """
        found = errors(MINIMAL_DNS.replace("[dns.soa]", 'zone-layot = "domain"\n[dns.soa]'))
        self.assertEqual(
            found, ["dns.toml: dns.zone-layot: unknown key; did you mean 'zone-layout'?"]
        )

    def test_hostnameAndAddresses(self) -> None:
        """
        C{mailfront-hostname} and C{mailfront-addresses} exclude each other,
        because a CNAME cannot share its name with address records.
        """
        found = errors(
            MINIMAL_DNS.replace(
                "[dns.soa]",
                'mailfront-hostname = "discovery.example.net"\n'
                'mailfront-addresses = ["192.0.2.10"]\n[dns.soa]',
            )
        )
        self.assertEqual(
            found,
            [
                "dns.toml: dns.mailfront-addresses: set mailfront-hostname or "
                "mailfront-addresses, not both: a name with a CNAME record cannot have A or "
                "AAAA records"
            ],
        )

    def test_tableInTwoFiles(self) -> None:
        """
        Only one file may hold the C{[dns]} table.
        """
        found = rejection(PROVIDER, MINIMAL_DNS, MINIMAL_DNS)
        self.assertEqual(found, ["2.toml: dns: the [dns] table is already defined in 1.toml"])

    def test_nameServerInsideServedZone(self) -> None:
        """
        With C{zone-layout = "domain"}, a name server inside a served domain
        is rejected, because its zone would need address records for it.
        """
        found = rejection(
            PROVIDER,
            '[dns]\nzone-layout = "domain"\nname-servers = ["ns1.example.com"]\n'
            '[dns.soa]\nrname = "hostmaster@example.net"\n',
        )
        self.assertEqual(
            found,
            [
                "1.toml: dns.name-servers[0]: ns1.example.com is inside the zone example.com "
                'that mailfront serves with zone-layout = "domain", and mailfront publishes no '
                "address records for name servers; use a name server outside the served zones"
            ],
        )

    def test_nameServerInsideDomainWithSubzones(self) -> None:
        """
        With the C{subdomains} layout a name server may be named under a
        served domain, because the domain's own zone is elsewhere.
        """
        dns = registry(
            PROVIDER,
            '[dns]\nname-servers = ["ns1.example.com"]\n[dns.soa]\nrname = "h@example.net"\n',
        ).dns
        self.assertEqual(dns.nameServers, ("ns1.example.com",))


def providerSetting(table: str) -> tuple[list[str], Optional[object], Optional[object]]:
    """
    Parse the provider with extra settings and return the problems and its
    C{mtaSts} and C{tlsReporting}.
    """
    document = parseText("p.toml", PROVIDER + table)
    provider = document.providers[0] if document.providers else None
    return (
        [str(error) for error in document.errors],
        None if provider is None else provider.mtaSts,
        None if provider is None else provider.tlsReporting,
    )


class PolicySettingsTests(SynchronousTestCase):
    """
    The C{mta-sts} and C{tls-rpt} settings of providers and domains.
    """

    def test_mtaSts(self) -> None:
        """
        An MTA-STS table becomes a policy with normalized MX patterns.
        """
        found, mtaSts, _ = providerSetting(
            '[providers.hosting.mta-sts]\nmode = "enforce"\n'
            'mx = ["MX1.example.net", "*.mx.example.net"]\nmax-age = 86400\n'
        )
        self.assertEqual(found, [])
        self.assertEqual(
            mtaSts, MtaStsPolicy("enforce", ("mx1.example.net", "*.mx.example.net"), 86400)
        )

    def test_mtaStsDefaults(self) -> None:
        """
        Without C{max-age} a policy is cached for a week; mode C{none} needs
        no MX list.
        """
        found, mtaSts, _ = providerSetting('[providers.hosting.mta-sts]\nmode = "none"\n')
        self.assertEqual(found, [])
        self.assertEqual(mtaSts, MtaStsPolicy("none", (), 604800, None))

    def test_mtaStsInvalid(self) -> None:
        """
        A bad mode, a missing MX list, a too long max-age and a bad id are
        each reported.
        """
        found, mtaSts, _ = providerSetting(
            '[providers.hosting.mta-sts]\nmode = "strict"\nmax-age = 31557601\nid = "a-b"\n'
        )
        self.assertIsNone(mtaSts)
        self.assertEqual(
            found,
            [
                "p.toml: providers.hosting.mta-sts.mode: unknown mode 'strict'; use enforce, "
                "testing or none",
                "p.toml: providers.hosting.mta-sts.max-age: 31557601 is over the limit of "
                "31557600 seconds",
                "p.toml: providers.hosting.mta-sts.id: 'a-b' is not 1 to 32 letters and digits",
            ],
        )
        found, _, _ = providerSetting('[providers.hosting.mta-sts]\nmode = "testing"\n')
        self.assertEqual(
            found,
            [
                "p.toml: providers.hosting.mta-sts.mx: missing; list the host names of the "
                "mail exchangers"
            ],
        )

    def test_tlsReporting(self) -> None:
        """
        C{rua} takes C{mailto:} and C{https:} URIs, or one URI as a string.
        """
        found, _, tlsReporting = providerSetting(
            "[providers.hosting.tls-rpt]\n"
            'rua = ["mailto:tlsrpt@example.net", "https://reports.example.net/tls"]\n'
        )
        self.assertEqual(found, [])
        self.assertEqual(
            tlsReporting,
            TlsReporting(("mailto:tlsrpt@example.net", "https://reports.example.net/tls")),
        )
        _, _, single = providerSetting(
            '[providers.hosting.tls-rpt]\nrua = "mailto:tlsrpt@example.net"\n'
        )
        self.assertEqual(single, TlsReporting(("mailto:tlsrpt@example.net",)))

    def test_tlsReportingInvalid(self) -> None:
        """
        A URI that is neither C{mailto:} with an address nor C{https:}, or
        that contains a comma, is rejected.
        """
        found, _, tlsReporting = providerSetting(
            "[providers.hosting.tls-rpt]\n"
            'rua = ["mailto:tlsrpt", "http://example.net/", "mailto:a@example.net,b@example.net"]\n'
        )
        self.assertIsNone(tlsReporting)
        reason = (
            "is not a mailto:local@domain or https:// URI without spaces, commas, semicolons or '!'"
        )
        self.assertEqual(
            found,
            [
                f"p.toml: providers.hosting.tls-rpt.rua[0]: 'mailto:tlsrpt' {reason}",
                f"p.toml: providers.hosting.tls-rpt.rua[1]: 'http://example.net/' {reason}",
                "p.toml: providers.hosting.tls-rpt.rua[2]: "
                f"'mailto:a@example.net,b@example.net' {reason}",
            ],
        )

    def test_domainOverride(self) -> None:
        """
        A domain table may replace the provider's policy settings.
        """
        built = registry(
            PROVIDER + '[providers.hosting.tls-rpt]\nrua = ["mailto:a@example.net"]\n',
            '[domains."example.com"]\nprovider = "hosting"\n'
            '[domains."example.com".tls-rpt]\nrua = ["mailto:b@example.com"]\n',
        )
        self.assertEqual(
            built.domains["example.com"].provider.tlsReporting,
            TlsReporting(("mailto:b@example.com",)),
        )
