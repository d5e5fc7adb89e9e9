"""
Tests of the DNS records derived from registry entries.
"""

from __future__ import annotations

import ast
import os
from typing import Iterable, Sequence

import attrs
from hypothesis import given, strategies
from lxml import etree
from twisted.trial.unittest import SynchronousTestCase

from mailfront.registry import (
    Authentication,
    DavServer,
    DnsSettings,
    MtaStsPolicy,
    Provider,
    Server,
    TlsReporting,
    loadDirectory,
)
from mailfront.render.dnsrecords import (
    AddressData,
    DnsRecord,
    NameData,
    SrvData,
    TxtData,
    deriveRecords,
    mtaStsPolicyID,
    mtaStsPolicyText,
    prepareRecordTemplate,
)
from mailfront.snapshot import buildSnapshot

from .running import EXAMPLE_CONFIG, ROOT

DOMAIN = "example.com"
PASSWORD = (Authentication("password-cleartext"),)
SETTINGS = DnsSettings(ttl=3600)


def server(kind: str, socketType: str, port: int, hostname: str = "mail.example.net") -> Server:
    """
    A server of the registry with a password login.
    """
    return Server(kind, hostname, port, socketType, PASSWORD, "%EMAILADDRESS%")


def srv(records: Iterable[DnsRecord], label: str) -> list[tuple[int, int, int, str]]:
    """
    The SRV data at C{label._tcp.example.com.} as tuples, in order.
    """
    owner = f"{label}._tcp.{DOMAIN}."
    return [
        (r.data.priority, r.data.weight, r.data.port, r.data.target)
        for r in records
        if r.owner == owner and isinstance(r.data, SrvData)
    ]


def at(records: Iterable[DnsRecord], owner: str) -> list[tuple[str, object]]:
    """
    The type and data of every record at C{owner}.
    """
    return [(r.type, r.data) for r in records if r.owner == owner]


def derive(provider: Provider, settings: DnsSettings = SETTINGS) -> tuple[DnsRecord, ...]:
    """
    Derive the records of example.com.
    """
    return deriveRecords(provider, DOMAIN, settings)


NONE = (0, 0, 0, ".")


class MailServiceTests(SynchronousTestCase):
    """
    SRV records of IMAP, POP3 and submission (RFC 6186, RFC 8314).
    """

    #: (server type, socket type, port, label it is published under, the
    #: sibling label that gets the "." target).
    LABELS = [
        ("imap", "SSL", 993, "_imaps", "_imap"),
        ("imap", "STARTTLS", 143, "_imap", "_imaps"),
        ("imap", "plain", 143, "_imap", "_imaps"),
        ("pop3", "SSL", 995, "_pop3s", "_pop3"),
        ("pop3", "STARTTLS", 110, "_pop3", "_pop3s"),
        ("pop3", "plain", 110, "_pop3", "_pop3s"),
        ("smtp", "SSL", 465, "_submissions", "_submission"),
        ("smtp", "STARTTLS", 587, "_submission", "_submissions"),
        ("smtp", "plain", 587, "_submission", "_submissions"),
    ]

    def test_labelPerSocketType(self) -> None:
        """
        Each server type and socket type is published under its label, and
        the sibling label of the other TLS mode gets the "not offered"
        record.
        """
        for kind, socketType, port, label, sibling in self.LABELS:
            one = server(kind, socketType, port)
            if kind == "smtp":
                provider = Provider("p", outgoing=(one,))
            else:
                provider = Provider("p", incoming=(one,))
            records = derive(provider)
            with self.subTest(kind=kind, socketType=socketType):
                self.assertEqual(srv(records, label), [(0, 0, port, "mail.example.net.")])
                self.assertEqual(srv(records, sibling), [NONE])

    #: (servers in registry order, expected SRV data per access label).
    ORDERS: Sequence[tuple[tuple[Server, ...], dict[str, list[tuple[int, int, int, str]]]]] = [
        (
            (
                server("imap", "SSL", 993),
                server("imap", "STARTTLS", 143),
                server("pop3", "SSL", 995),
                server("pop3", "STARTTLS", 110),
            ),
            {
                "_imaps": [(0, 0, 993, "mail.example.net.")],
                "_imap": [(5, 0, 143, "mail.example.net.")],
                "_pop3s": [(10, 0, 995, "mail.example.net.")],
                "_pop3": [(15, 0, 110, "mail.example.net.")],
            },
        ),
        (
            # STARTTLS listed first: implicit TLS still wins (RFC 8314 4).
            (server("imap", "STARTTLS", 143), server("imap", "SSL", 993)),
            {
                "_imaps": [(0, 0, 993, "mail.example.net.")],
                "_imap": [(5, 0, 143, "mail.example.net.")],
                "_pop3s": [NONE],
                "_pop3": [NONE],
            },
        ),
        (
            # POP3 listed first: the registry prefers POP3 over IMAP.
            (server("pop3", "SSL", 995), server("imap", "SSL", 993)),
            {
                "_pop3s": [(0, 0, 995, "mail.example.net.")],
                "_imaps": [(5, 0, 993, "mail.example.net.")],
                "_imap": [NONE],
                "_pop3": [NONE],
            },
        ),
        (
            # No TLS comes after STARTTLS, which comes after implicit TLS.
            (
                server("imap", "plain", 143, "old.example.net"),
                server("imap", "STARTTLS", 143),
                server("imap", "SSL", 993),
            ),
            {
                "_imaps": [(0, 0, 993, "mail.example.net.")],
                "_imap": [(5, 0, 143, "mail.example.net."), (10, 0, 143, "old.example.net.")],
                "_pop3s": [NONE],
                "_pop3": [NONE],
            },
        ),
        (
            # Two hosts of one kind keep the registry's order.
            (
                server("imap", "SSL", 993, "b.example.net"),
                server("imap", "SSL", 993, "a.example.net"),
            ),
            {
                "_imaps": [(0, 0, 993, "b.example.net."), (5, 0, 993, "a.example.net.")],
                "_imap": [NONE],
            },
        ),
        (
            # A repeated server is published once.
            (server("imap", "SSL", 993), server("imap", "SSL", 993)),
            {"_imaps": [(0, 0, 993, "mail.example.net.")]},
        ),
    ]

    def test_priorities(self) -> None:
        """
        Priorities follow the registry's preference with implicit TLS first,
        in one sequence across IMAP and POP3.
        """
        for servers, expected in self.ORDERS:
            records = derive(Provider("p", incoming=servers))
            for label, data in expected.items():
                with self.subTest(servers=servers, label=label):
                    self.assertEqual(srv(records, label), data)

    def test_submissionPriorities(self) -> None:
        """
        Submission has its own priority sequence with port 465 (implicit
        TLS) ahead of 587.
        """
        provider = Provider(
            "p",
            incoming=(server("imap", "SSL", 993),),
            outgoing=(server("smtp", "STARTTLS", 587), server("smtp", "SSL", 465)),
        )
        records = derive(provider)
        self.assertEqual(srv(records, "_submissions"), [(0, 0, 465, "mail.example.net.")])
        self.assertEqual(srv(records, "_submission"), [(5, 0, 587, "mail.example.net.")])

    def test_nothingOffered(self) -> None:
        """
        A provider without IMAP, POP3 or SMTP (say, JMAP only) publishes the
        "." target, alone at its name, under all six labels.
        """
        records = derive(Provider("p"))
        for label in ("_imaps", "_imap", "_pop3s", "_pop3", "_submissions", "_submission"):
            with self.subTest(label=label):
                self.assertEqual(at(records, f"{label}._tcp.{DOMAIN}."), [("SRV", SrvData(*NONE))])

    def test_domainPlaceholder(self) -> None:
        """
        C{%EMAILDOMAIN%} in a host name is replaced by the domain.
        """
        provider = Provider("p", incoming=(server("imap", "SSL", 993, "imap.%EMAILDOMAIN%"),))
        self.assertEqual(srv(derive(provider), "_imaps"), [(0, 0, 993, "imap.example.com.")])

    def test_unpublishableHosts(self) -> None:
        """
        A host name that differs per user, or an IP address, cannot be an
        SRV target. The label then gets no record at all, because "." would
        wrongly mark the service as not offered.
        """
        for hostname in ("%EMAILLOCALPART%.mail.example.net", "192.0.2.1"):
            provider = Provider("p", incoming=(server("imap", "SSL", 993, hostname),))
            records = derive(provider)
            with self.subTest(hostname=hostname):
                self.assertEqual(srv(records, "_imaps"), [])
                self.assertEqual(srv(records, "_imap"), [NONE])

    def test_otherTypesIgnored(self) -> None:
        """
        Servers reached by URL (EWS, ActiveSync) get no mail SRV records.
        """
        provider = Provider(
            "p", incoming=(Server("ews", url="https://mail.example.net/EWS/Exchange.asmx"),)
        )
        records = derive(provider)
        self.assertEqual(srv(records, "_imaps"), [NONE])
        self.assertEqual(srv(records, "_imap"), [NONE])


def dav(url: str, kind: str = "caldav") -> Provider:
    """
    A provider with one calendar or address book.
    """
    service = DavServer(kind, url)
    if kind == "caldav":
        return Provider("p", calendars=(service,))
    return Provider("p", addressbooks=(service,))


class WebServiceTests(SynchronousTestCase):
    """
    CalDAV, CardDAV (RFC 6764) and JMAP (RFC 8620) records.
    """

    #: (URL, owner label, SRV data, TXT strings or None).
    DAV = [
        (
            "https://dav.example.net/caldav/",
            "_caldavs",
            (0, 0, 443, "dav.example.net."),
            ("path=/caldav/",),
        ),
        ("https://dav.example.net:8443/", "_caldavs", (0, 0, 8443, "dav.example.net."), None),
        ("https://dav.example.net", "_caldavs", (0, 0, 443, "dav.example.net."), None),
        ("http://dav.example.net/dav/", "_caldav", (0, 0, 80, "dav.example.net."), ("path=/dav/",)),
        (
            "https://dav.example.net/.well-known/caldav",
            "_caldavs",
            (0, 0, 443, "dav.example.net."),
            None,
        ),
        (
            "https://dav.%EMAILDOMAIN%/cal/",
            "_caldavs",
            (0, 0, 443, "dav.example.com."),
            ("path=/cal/",),
        ),
        (
            "https://dav.example.net/cal/%EMAILDOMAIN%/",
            "_caldavs",
            (0, 0, 443, "dav.example.net."),
            ("path=/cal/example.com/",),
        ),
        (
            "https://dav.example.net/%EMAILADDRESS%/",
            "_caldavs",
            (0, 0, 443, "dav.example.net."),
            None,
        ),
    ]

    def test_calDav(self) -> None:
        """
        A calendar URL gives an SRV record under C{_caldavs} (TLS) or
        C{_caldav}, and a C{path=} TXT record when clients could not guess
        the path.
        """
        for url, label, data, strings in self.DAV:
            records = derive(dav(url))
            owner = f"{label}._tcp.{DOMAIN}."
            expected: list[tuple[str, object]] = [("SRV", SrvData(*data))]
            if strings is not None:
                expected.append(("TXT", TxtData(strings)))
            with self.subTest(url=url):
                self.assertEqual(at(records, owner), expected)

    def test_cardDav(self) -> None:
        """
        An address book URL gives C{_carddavs} records.
        """
        records = derive(dav("https://dav.example.net/card/", "carddav"))
        self.assertEqual(
            at(records, f"_carddavs._tcp.{DOMAIN}."),
            [("SRV", SrvData(0, 0, 443, "dav.example.net.")), ("TXT", TxtData(("path=/card/",)))],
        )

    def test_firstDavServiceOnly(self) -> None:
        """
        Only the most preferred calendar is published, because one TXT
        record cannot give two paths.
        """
        provider = Provider(
            "p",
            calendars=(
                DavServer("caldav", "https://one.example.net/a/"),
                DavServer("caldav", "https://two.example.net/b/"),
            ),
        )
        self.assertEqual(
            at(derive(provider), f"_caldavs._tcp.{DOMAIN}."),
            [("SRV", SrvData(0, 0, 443, "one.example.net.")), ("TXT", TxtData(("path=/a/",)))],
        )

    #: (JMAP server, SRV data or None).
    JMAP = [
        (
            Server("jmap", url="https://jmap.example.net/.well-known/jmap"),
            (0, 0, 443, "jmap.example.net."),
        ),
        (
            Server("jmap", url="https://jmap.example.net:8443/jmap/session"),
            (0, 0, 8443, "jmap.example.net."),
        ),
        (Server("jmap", hostname="jmap.example.net", port=4443), (0, 0, 4443, "jmap.example.net.")),
        (Server("jmap", url="http://jmap.example.net/.well-known/jmap"), None),
    ]

    def test_jmap(self) -> None:
        """
        A JMAP server gives a C{_jmap._tcp} SRV record for HTTPS only.
        """
        for jmap, data in self.JMAP:
            records = derive(Provider("p", incoming=(jmap,)))
            expected = [] if data is None else [("SRV", SrvData(*data))]
            with self.subTest(jmap=jmap):
                self.assertEqual(at(records, f"_jmap._tcp.{DOMAIN}."), expected)


class DiscoveryNameTests(SynchronousTestCase):
    """
    The C{autoconfig.}, C{autodiscover.} and C{_autodiscover._tcp} names.
    """

    def test_canonicalName(self) -> None:
        """
        With C{mailfront-hostname}, both names are CNAMEs to it and the
        C{_autodiscover} SRV record targets it directly.
        """
        settings = DnsSettings(mailfrontHostname="discovery.example.net")
        records = derive(Provider("p"), settings)
        for name in ("autoconfig", "autodiscover"):
            self.assertEqual(
                at(records, f"{name}.{DOMAIN}."), [("CNAME", NameData("discovery.example.net."))]
            )
        self.assertEqual(srv(records, "_autodiscover"), [(0, 0, 443, "discovery.example.net.")])

    def test_addresses(self) -> None:
        """
        With C{mailfront-addresses}, both names get A and AAAA records and
        the C{_autodiscover} SRV record targets C{autodiscover.D}.
        """
        settings = DnsSettings(mailfrontAddresses=("192.0.2.10", "2001:db8::10"))
        records = derive(Provider("p"), settings)
        for name in ("autoconfig", "autodiscover"):
            self.assertEqual(
                at(records, f"{name}.{DOMAIN}."),
                [("A", AddressData("192.0.2.10")), ("AAAA", AddressData("2001:db8::10"))],
            )
        self.assertEqual(srv(records, "_autodiscover"), [(0, 0, 443, f"autodiscover.{DOMAIN}.")])

    def test_noHost(self) -> None:
        """
        Without the host that runs mailfront, none of these names appear.
        """
        records = derive(Provider("p"))
        self.assertEqual(at(records, f"autoconfig.{DOMAIN}."), [])
        self.assertEqual(srv(records, "_autodiscover"), [])

    def test_targetNeverAlias(self) -> None:
        """
        An SRV target that is one of the CNAMEs published here is replaced
        by the CNAME's target (RFC 2782).
        """
        settings = DnsSettings(mailfrontHostname="discovery.example.net")
        provider = Provider("p", incoming=(server("imap", "SSL", 993, "autoconfig.%EMAILDOMAIN%"),))
        self.assertEqual(
            srv(derive(provider, settings), "_imaps"), [(0, 0, 993, "discovery.example.net.")]
        )


class PolicyRecordTests(SynchronousTestCase):
    """
    The MTA-STS (RFC 8461) and TLS-RPT (RFC 8460) TXT records.
    """

    POLICY = MtaStsPolicy("enforce", ("mx1.example.net", "*.example.net"), 86400)

    def test_policyText(self) -> None:
        """
        The policy file has one CRLF-terminated C{key: value} line each.
        """
        self.assertEqual(
            mtaStsPolicyText(self.POLICY),
            "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.net\r\nmx: *.example.net\r\n"
            "max_age: 86400\r\n",
        )

    def test_mtaStsRecord(self) -> None:
        """
        The C{_mta-sts} record carries a 32-character alphanumeric id.
        """
        records = derive(Provider("p", mtaSts=self.POLICY))
        [(kind, data)] = at(records, f"_mta-sts.{DOMAIN}.")
        self.assertEqual(kind, "TXT")
        prefix, policyID = "".join(data.strings).split("id=")
        self.assertEqual(prefix, "v=STSv1; ")
        self.assertRegex(policyID, r"^[0-9a-f]{32}$")

    def test_policyIDFollowsPolicy(self) -> None:
        """
        The derived id changes when the policy changes and stays when it
        does not; a configured id is used as it is.
        """
        same = MtaStsPolicy("enforce", ("mx1.example.net", "*.example.net"), 86400)
        testing = attrs.evolve(self.POLICY, mode="testing")
        self.assertEqual(mtaStsPolicyID(self.POLICY), mtaStsPolicyID(same))
        self.assertNotEqual(mtaStsPolicyID(self.POLICY), mtaStsPolicyID(testing))
        self.assertEqual(mtaStsPolicyID(attrs.evolve(self.POLICY, id="2026a")), "2026a")

    def test_tlsReporting(self) -> None:
        """
        The C{_smtp._tls} record lists the report URIs separated by commas.
        """
        reporting = TlsReporting(("mailto:tlsrpt@example.net", "https://r.example.net/tls"))
        records = derive(Provider("p", tlsReporting=reporting))
        self.assertEqual(
            at(records, f"_smtp._tls.{DOMAIN}."),
            [
                (
                    "TXT",
                    TxtData(
                        ("v=TLSRPTv1; rua=mailto:tlsrpt@example.net,https://r.example.net/tls",)
                    ),
                )
            ],
        )

    def test_longTextSplit(self) -> None:
        """
        A TXT value longer than 255 bytes is split into character-strings of
        at most 255 bytes that join to the value.
        """
        rua = tuple(f"mailto:report{index:02d}@reports.example.net" for index in range(12))
        records = derive(Provider("p", tlsReporting=TlsReporting(rua)))
        [(_, data)] = at(records, f"_smtp._tls.{DOMAIN}.")
        self.assertEqual([len(s) for s in data.strings], [255, len("".join(data.strings)) - 255])
        self.assertEqual("".join(data.strings), "v=TLSRPTv1; rua=" + ",".join(rua))


class NameTests(SynchronousTestCase):
    """
    Names of all records.
    """

    def test_exampleRecordsWellFormed(self) -> None:
        """
        For every example domain, every owner and target is lower case,
        ASCII and fully qualified, and no record appears twice.
        """
        registry = loadDirectory(EXAMPLE_CONFIG)
        for domain, entry in registry.domains.items():
            records = deriveRecords(entry.provider, domain, registry.dns or SETTINGS)
            with self.subTest(domain=domain):
                self.assertEqual(len(records), len(set(records)))
                for record in records:
                    names = [record.owner]
                    if isinstance(record.data, (SrvData, NameData)):
                        names.append(record.data.target)
                    for name in names:
                        self.assertTrue(name.endswith("."), name)
                        self.assertEqual(name, name.lower())
                        self.assertTrue(name.isascii(), name)

    def test_internationalizedDomain(self) -> None:
        """
        A domain is published in its A-label form.
        """
        registry = loadDirectory(EXAMPLE_CONFIG)
        entry = registry.domains["xn--bcher-kva.example"]
        records = deriveRecords(entry.provider, entry.name, SETTINGS)
        self.assertIn("_imaps._tcp.xn--bcher-kva.example.", [r.owner for r in records])

    def test_tooLongNamesDropped(self) -> None:
        """
        Records whose owner would exceed 253 characters are left out.
        """
        domain = ".".join(["a" * 60] * 3 + ["a" * 51]) + ".example"
        self.assertEqual(len(f"_imap._tcp.{domain}"), 253)
        provider = Provider("p", incoming=(server("imap", "SSL", 993),))
        owners = {r.owner for r in deriveRecords(provider, domain, SETTINGS)}
        self.assertIn(f"_imap._tcp.{domain}.", owners)
        self.assertNotIn(f"_imaps._tcp.{domain}.", owners)
        self.assertLessEqual(max(len(owner) for owner in owners), 254)


labels = strategies.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
domains = strategies.lists(labels, min_size=1, max_size=4).map(
    lambda parts: ".".join(parts) + ".example"
)


class TemplateTests(SynchronousTestCase):
    """
    Record templates shared by the domains of one provider.
    """

    @given(domains)
    def test_templateEqualsDerivation(self, domain: str) -> None:
        """
        A provider's template filled with a domain gives exactly the
        records derived for that domain.
        """
        registry = loadDirectory(EXAMPLE_CONFIG)
        settings = registry.dns or SETTINGS
        for entry in registry.domains.values():
            template = prepareRecordTemplate(entry.provider, settings)
            self.assertEqual(
                template.render(domain), deriveRecords(entry.provider, domain, settings)
            )

    def test_digestFollowsRecords(self) -> None:
        """
        Equal providers give equal digests; a changed port changes it.
        """
        first = Provider("p", incoming=(server("imap", "SSL", 993),))
        changed = Provider("p", incoming=(server("imap", "SSL", 994),))
        self.assertEqual(
            prepareRecordTemplate(first, SETTINGS).digest,
            prepareRecordTemplate(attrs.evolve(first), SETTINGS).digest,
        )
        self.assertNotEqual(
            prepareRecordTemplate(first, SETTINGS).digest,
            prepareRecordTemplate(changed, SETTINGS).digest,
        )


#: Autoconfig server types and the SRV labels that publish them.
SERVICE_LABELS = {
    "imap": ("_imaps", "_imap"),
    "pop3": ("_pop3s", "_pop3"),
    "smtp": ("_submissions", "_submission"),
}


class AutoconfigConsistencyTests(SynchronousTestCase):
    """
    DNS and Autoconfig publish the same servers.
    """

    def test_exampleDomains(self) -> None:
        """
        For every example domain, the hosts and ports of the SRV records
        equal those of the Autoconfig document, service by service, with
        implicit TLS under the C{s} labels. Both come from the snapshot the
        service answers from.
        """
        snapshot = buildSnapshot(loadDirectory(EXAMPLE_CONFIG), 1)
        assert snapshot.dns is not None
        self.assertTrue(snapshot.registry.domains)
        for domain in snapshot.registry.domains:
            document = etree.fromstring(snapshot.autoconfig[domain].render(domain))
            records = snapshot.dns.records(domain)
            imaps = [r for r in records if r.owner == f"_imaps._tcp.{domain}."]
            self.assertTrue(imaps, domain)
            self.assertNotIn(".", [r.data.target for r in imaps])
            for kind, (secureLabel, plainLabel) in SERVICE_LABELS.items():
                fromXML = {
                    (
                        element.findtext("hostname") + ".",
                        int(element.findtext("port")),
                        element.findtext("socketType") == "SSL",
                    )
                    for element in document.iter("incomingServer", "outgoingServer")
                    if element.get("type") == kind
                }
                fromDNS = {
                    (r.data.target, r.data.port, r.owner.startswith(secureLabel + "."))
                    for r in records
                    if r.owner.split(".")[0] in (secureLabel, plainLabel)
                    and isinstance(r.data, SrvData)
                    and r.data.target != "."
                }
                with self.subTest(domain=domain, service=kind):
                    self.assertEqual(fromDNS, fromXML)


class LayeringTests(SynchronousTestCase):
    """
    The registry and the renderers stay free of Twisted.
    """

    def test_noTwistedImports(self) -> None:
        """
        No module of C{mailfront.registry} or C{mailfront.render} imports
        Twisted.
        """
        for package in ("registry", "render"):
            directory = os.path.join(ROOT, "mailfront", package)
            for name in sorted(os.listdir(directory)):
                if not name.endswith(".py"):
                    continue
                with open(os.path.join(directory, name), encoding="utf-8") as f:
                    tree = ast.parse(f.read())
                imported = [
                    alias.name
                    for node in ast.walk(tree)
                    if isinstance(node, ast.Import)
                    for alias in node.names
                ] + [
                    node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                ]
                with self.subTest(module=f"{package}/{name}"):
                    self.assertEqual([m for m in imported if m.split(".")[0] == "twisted"], [])
