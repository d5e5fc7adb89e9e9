"""
Tests of zone layouts, complete zones and the zone-file text.
"""

from __future__ import annotations

import attrs
from twisted.trial.unittest import SynchronousTestCase

from mailfront.registry import (
    Authentication,
    DnsSettings,
    DomainEntry,
    Provider,
    Registry,
    Server,
    SoaSettings,
    TlsReporting,
)
from mailfront.render.dnsrecords import DnsRecord, NameData, SoaData, SrvData, TxtData
from mailfront.render.dnszones import ZoneSettingsMissing, prepareDnsData
from mailfront.render.zonefile import quoteString, recordLines, zoneText

PASSWORD = (Authentication("password-cleartext"),)

PROVIDER = Provider(
    "hosting",
    incoming=(Server("imap", "mail.example.net", 993, "SSL", PASSWORD),),
    outgoing=(Server("smtp", "mail.example.net", 465, "SSL", PASSWORD),),
    tlsReporting=TlsReporting(("mailto:tlsrpt@example.net",)),
)

SETTINGS = DnsSettings(
    ttl=3600,
    nameServers=("ns1.example.net", "ns2.example.net"),
    soa=SoaSettings("hostmaster.example.net"),
    mailfrontHostname="discovery.example.net",
)


def makeRegistry(
    *domains: str, settings: DnsSettings | None = SETTINGS, provider: Provider = PROVIDER
) -> Registry:
    """
    A registry whose domains all use one provider.
    """
    return Registry(
        providers={provider.id: provider},
        domains={name: DomainEntry(name, provider) for name in domains},
        dns=settings,
    )


class LayoutTests(SynchronousTestCase):
    """
    How domains are cut into zones.
    """

    def test_subdomainZones(self) -> None:
        """
        In the C{subdomains} layout a domain has a C{_tcp} zone and one zone
        per policy name; the CNAMEs of C{autoconfig.} and C{autodiscover.}
        make no zone.
        """
        data = prepareDnsData(makeRegistry("example.com"))
        self.assertEqual(
            data.zoneOrigins("example.com"), ("_tcp.example.com.", "_smtp._tls.example.com.")
        )

    def test_addressZones(self) -> None:
        """
        With addresses instead of a host name, C{autoconfig.} and
        C{autodiscover.} are zones too.
        """
        settings = attrs.evolve(
            SETTINGS, mailfrontHostname=None, mailfrontAddresses=("192.0.2.10",)
        )
        data = prepareDnsData(makeRegistry("example.com", settings=settings))
        self.assertEqual(
            data.zoneOrigins("example.com"),
            (
                "_tcp.example.com.",
                "_smtp._tls.example.com.",
                "autoconfig.example.com.",
                "autodiscover.example.com.",
            ),
        )

    def test_domainZone(self) -> None:
        """
        In the C{domain} layout the domain is the zone.
        """
        settings = attrs.evolve(SETTINGS, zoneLayout="domain")
        data = prepareDnsData(makeRegistry("example.com", settings=settings))
        self.assertEqual(data.zoneOrigins("example.com"), ("example.com.",))

    #: (layout, name, expected (origin, domain) or None).
    FIND = [
        ("subdomains", "_imaps._tcp.example.com", ("_tcp.example.com.", "example.com")),
        ("subdomains", "_tcp.example.com", ("_tcp.example.com.", "example.com")),
        ("subdomains", "x.y._tcp.example.com", ("_tcp.example.com.", "example.com")),
        ("subdomains", "_smtp._tls.example.com", ("_smtp._tls.example.com.", "example.com")),
        ("subdomains", "_tls.example.com", None),
        ("subdomains", "autoconfig.example.com", None),
        ("subdomains", "example.com", None),
        ("subdomains", "_tcp.example.org", None),
        ("subdomains", "_tcp.sub.example.com", ("_tcp.sub.example.com.", "sub.example.com")),
        ("domain", "example.com", ("example.com.", "example.com")),
        ("domain", "www.example.com", ("example.com.", "example.com")),
        ("domain", "_imaps._tcp.sub.example.com", ("sub.example.com.", "sub.example.com")),
        ("domain", "com", None),
        ("domain", "", None),
    ]

    def test_findZone(self) -> None:
        """
        A name belongs to the closest enclosing zone, or to none.
        """
        for layout, name, expected in self.FIND:
            settings = attrs.evolve(SETTINGS, zoneLayout=layout)
            data = prepareDnsData(makeRegistry("example.com", "sub.example.com", settings=settings))
            with self.subTest(layout=layout, name=name):
                self.assertEqual(data.findZone(name), expected)

    def test_parentRecords(self) -> None:
        """
        For the C{subdomains} layout, the domain's own zone needs NS records
        for each delegated zone and the CNAMEs.
        """
        data = prepareDnsData(makeRegistry("example.com"))
        self.assertEqual(
            [(r.owner, r.type, r.data) for r in data.parentRecords("example.com")],
            [
                ("_tcp.example.com.", "NS", NameData("ns1.example.net.")),
                ("_tcp.example.com.", "NS", NameData("ns2.example.net.")),
                ("_smtp._tls.example.com.", "NS", NameData("ns1.example.net.")),
                ("_smtp._tls.example.com.", "NS", NameData("ns2.example.net.")),
                ("autoconfig.example.com.", "CNAME", NameData("discovery.example.net.")),
                ("autodiscover.example.com.", "CNAME", NameData("discovery.example.net.")),
            ],
        )


class ZoneTests(SynchronousTestCase):
    """
    Complete zones.
    """

    def test_soaAndNameServers(self) -> None:
        """
        A zone starts with its SOA record, built from C{[dns.soa]} and the
        given serial, then the NS records, then the zone's own records.
        """
        data = prepareDnsData(makeRegistry("example.com"))
        zone = data.zone("_smtp._tls.example.com.", "example.com", 42)
        self.assertEqual(
            zone.records,
            (
                DnsRecord(
                    "_smtp._tls.example.com.",
                    "SOA",
                    3600,
                    SoaData(
                        "ns1.example.net.", "hostmaster.example.net.", 42, 3600, 600, 1209600, 300
                    ),
                ),
                DnsRecord("_smtp._tls.example.com.", "NS", 3600, NameData("ns1.example.net.")),
                DnsRecord("_smtp._tls.example.com.", "NS", 3600, NameData("ns2.example.net.")),
                DnsRecord(
                    "_smtp._tls.example.com.",
                    "TXT",
                    3600,
                    TxtData(("v=TLSRPTv1; rua=mailto:tlsrpt@example.net",)),
                ),
            ),
        )

    def test_primaryName(self) -> None:
        """
        C{mname} names the primary in the SOA record when it is set.
        """
        settings = attrs.evolve(
            SETTINGS, soa=SoaSettings("hostmaster.example.net", mname="hidden.example.net")
        )
        data = prepareDnsData(makeRegistry("example.com", settings=settings))
        zone = data.zone("_tcp.example.com.", "example.com", 1)
        self.assertEqual(zone.soa.data.mname, "hidden.example.net.")

    def test_childDelegation(self) -> None:
        """
        In the C{domain} layout, a registry domain below another one is
        delegated from the parent zone with NS records.
        """
        settings = attrs.evolve(SETTINGS, zoneLayout="domain")
        data = prepareDnsData(makeRegistry("example.com", "sub.example.com", settings=settings))
        zone = data.zone("example.com.", "example.com", 1)
        self.assertEqual(
            [r.data for r in zone.records if r.owner == "sub.example.com."],
            [NameData("ns1.example.net."), NameData("ns2.example.net.")],
        )
        child = data.zone("sub.example.com.", "sub.example.com", 1)
        self.assertNotIn("example.com.", [r.owner for r in child.records])

    def test_withoutDnsTable(self) -> None:
        """
        Without a C{[dns]} table there are record lines but no complete
        zones.
        """
        data = prepareDnsData(makeRegistry("example.com", settings=None))
        self.assertTrue(data.records("example.com"))
        exception = self.assertRaises(
            ZoneSettingsMissing, data.zone, "_tcp.example.com.", "example.com", 1
        )
        self.assertEqual(
            str(exception),
            "complete zones need a [dns] table with name-servers and [dns.soa] rname; "
            "see docs/configuration.md",
        )

    def test_addresslessTargets(self) -> None:
        """
        In the C{domain} layout, a mail host named under a served domain has
        no address records in mailfront's zone, and is reported.
        """
        provider = attrs.evolve(
            PROVIDER, incoming=(Server("imap", "imap.%EMAILDOMAIN%", 993, "SSL", PASSWORD),)
        )
        settings = attrs.evolve(SETTINGS, zoneLayout="domain")
        data = prepareDnsData(makeRegistry("example.com", settings=settings, provider=provider))
        problems = data.addresslessTargets(["example.com"])
        self.assertEqual(
            [(record.owner, origin) for record, origin in problems],
            [("_imaps._tcp.example.com.", "example.com.")],
        )
        subdomains = prepareDnsData(makeRegistry("example.com", provider=provider))
        self.assertEqual(subdomains.addresslessTargets(["example.com"]), [])


class ChangeTests(SynchronousTestCase):
    """
    Which zones differ between two configurations.
    """

    def test_unchanged(self) -> None:
        """
        Two preparations of equal registries have no changed domain and
        equal digests.
        """
        first = prepareDnsData(makeRegistry("example.com", "example.org"))
        second = prepareDnsData(makeRegistry("example.com", "example.org"))
        self.assertEqual(second.changedDomains(first), set())
        self.assertEqual(second.digest(), first.digest())

    def test_changedProvider(self) -> None:
        """
        A domain whose provider changed, and an added domain, have changed.
        """
        provider = attrs.evolve(
            PROVIDER, incoming=(Server("imap", "mail.example.net", 994, "SSL", PASSWORD),)
        )
        first = prepareDnsData(makeRegistry("example.com", "example.org"))
        entries = {
            "example.com": DomainEntry("example.com", PROVIDER),
            "example.org": DomainEntry("example.org", provider),
            "example.net": DomainEntry("example.net", PROVIDER),
        }
        second = prepareDnsData(
            Registry(providers={"hosting": PROVIDER}, domains=entries, dns=SETTINGS)
        )
        self.assertEqual(second.changedDomains(first), {"example.org", "example.net"})
        self.assertNotEqual(second.digest(), first.digest())

    def test_changedSettings(self) -> None:
        """
        Changed settings change every zone, which C{None} signals.
        """
        first = prepareDnsData(makeRegistry("example.com"))
        second = prepareDnsData(
            makeRegistry("example.com", settings=attrs.evolve(SETTINGS, ttl=60))
        )
        self.assertIsNone(second.changedDomains(first))

    def test_childAddedChangesParent(self) -> None:
        """
        In the C{domain} layout, adding a child domain changes its parent's
        zone, which gains the delegation.
        """
        settings = attrs.evolve(SETTINGS, zoneLayout="domain")
        first = prepareDnsData(makeRegistry("example.com", settings=settings))
        second = prepareDnsData(makeRegistry("example.com", "sub.example.com", settings=settings))
        self.assertEqual(second.changedDomains(first), {"example.com", "sub.example.com"})
        self.assertEqual(first.changedDomains(second), {"example.com"})


class ZoneFileTests(SynchronousTestCase):
    """
    Zone-file text.
    """

    def test_quoting(self) -> None:
        """
        Quotes and backslashes are escaped, and bytes outside printable
        ASCII are written as C{\\DDD}.
        """
        self.assertEqual(quoteString('a"b\\c'), '"a\\"b\\\\c"')
        self.assertEqual(quoteString("é\t"), '"\\195\\169\\009"')

    def test_lines(self) -> None:
        """
        Each record is one line with owner, TTL, class, type and data, and
        the types line up.
        """
        records = [
            DnsRecord(
                "_imaps._tcp.example.com.", "SRV", 3600, SrvData(0, 0, 993, "mail.example.net.")
            ),
            DnsRecord("_mta-sts.example.com.", "TXT", 60, TxtData(("v=STSv1; id=1", "x"))),
        ]
        self.assertEqual(
            recordLines(records),
            [
                "_imaps._tcp.example.com.   3600 IN SRV   0 0 993 mail.example.net.",
                '_mta-sts.example.com.        60 IN TXT   "v=STSv1; id=1" "x"',
            ],
        )

    def test_zoneText(self) -> None:
        """
        A zone file starts with C{$ORIGIN} and C{$TTL} and has the SOA
        record first.
        """
        data = prepareDnsData(makeRegistry("example.com"))
        text = zoneText(data.zone("_smtp._tls.example.com.", "example.com", 7))
        self.assertEqual(
            text.splitlines(),
            [
                "$ORIGIN _smtp._tls.example.com.",
                "$TTL 3600",
                "_smtp._tls.example.com.   3600 IN SOA   ns1.example.net. hostmaster.example.net. "
                "7 3600 600 1209600 300",
                "_smtp._tls.example.com.   3600 IN NS    ns1.example.net.",
                "_smtp._tls.example.com.   3600 IN NS    ns2.example.net.",
                "_smtp._tls.example.com.   3600 IN TXT   "
                '"v=TLSRPTv1; rua=mailto:tlsrpt@example.net"',
            ],
        )
