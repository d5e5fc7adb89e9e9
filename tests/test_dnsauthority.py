"""
Tests of the authority's answers, in memory.
"""

from __future__ import annotations

import attrs
from twisted.names import dns
from twisted.trial.unittest import SynchronousTestCase

from mailfront.dns.authority import Answer, Authority
from mailfront.registry import DnsSettings, Registry, loadDirectory
from mailfront.snapshot import SnapshotHolder, buildSnapshot

from .running import EXAMPLE_CONFIG

SERIAL = 2026120401


def exampleRegistry(**changes: object) -> Registry:
    """
    The example registry, with changed C{[dns]} settings.
    """
    registry = loadDirectory(EXAMPLE_CONFIG)
    assert registry.dns is not None
    return attrs.evolve(registry, dns=attrs.evolve(registry.dns, **changes))


def authorityFor(registry: Registry) -> Authority:
    """
    An authority that serves a registry with every serial L{SERIAL}.
    """
    return Authority(SnapshotHolder(buildSnapshot(registry, 1)), lambda domain: SERIAL)


def ask(authority: Authority, name: str, queryType: int, cls: int = dns.IN) -> Answer:
    """
    Ask one question.
    """
    return authority.query(dns.Query(name.encode("latin-1"), queryType, cls))


def texts(records: tuple[dns.RRHeader, ...]) -> list[tuple[str, int, int, str]]:
    """
    The owner, type, TTL and data of records, in the text Twisted gives.
    """
    return [(r.name.name.decode(), r.type, r.ttl, str(r.payload)) for r in records]


class AnswerTests(SynchronousTestCase):
    """
    Answers for names that exist.
    """

    def setUp(self) -> None:
        self.authority = authorityFor(exampleRegistry())

    def test_srv(self) -> None:
        """
        An SRV question gets the record with the AA bit.
        """
        answer = ask(self.authority, "_imaps._tcp.example.com", dns.SRV)
        self.assertEqual((answer.rCode, answer.authoritative), (dns.OK, True))
        self.assertEqual(
            texts(answer.answers),
            [
                (
                    "_imaps._tcp.example.com",
                    dns.SRV,
                    3600,
                    "<SRV priority=0 weight=0 target=mail.example-hosting.net port=993 ttl=3600>",
                )
            ],
        )
        self.assertEqual(answer.authority, ())

    def test_notOffered(self) -> None:
        """
        A service that is not offered answers with the root target.
        """
        answer = ask(self.authority, "_pop3._tcp.example.com", dns.SRV)
        self.assertEqual(
            [str(r.payload) for r in answer.answers],
            ["<SRV priority=0 weight=0 target= port=0 ttl=3600>"],
        )

    def test_caseInsensitive(self) -> None:
        """
        Names match in any letter case, and the answer keeps the client's
        case in the owner name (so 0x20-randomizing resolvers accept it).
        """
        answer = ask(self.authority, "_IMAPS._Tcp.EXAMPLE.com.", dns.SRV)
        self.assertEqual(answer.rCode, dns.OK)
        self.assertEqual([r.name.name for r in answer.answers], [b"_IMAPS._Tcp.EXAMPLE.com."])

    def test_txt(self) -> None:
        """
        TXT questions get the RFC 6764 path and the policy records.
        """
        path = ask(self.authority, "_caldavs._tcp.customer-one.example", dns.TXT)
        self.assertEqual([r.payload.data for r in path.answers], [[b"path=/caldav/"]])
        report = ask(self.authority, "_smtp._tls.example.com", dns.TXT)
        self.assertEqual(
            [r.payload.data for r in report.answers],
            [[b"v=TLSRPTv1; rua=mailto:tlsrpt@example-hosting.net"]],
        )

    def test_apexRecords(self) -> None:
        """
        The apex of a zone has its SOA and NS records.
        """
        soa = ask(self.authority, "_tcp.example.com", dns.SOA)
        self.assertEqual(
            texts(soa.answers),
            [
                (
                    "_tcp.example.com",
                    dns.SOA,
                    3600,
                    f"<SOA mname=ns1.example-hosting.net rname=hostmaster.example-hosting.net "
                    f"serial={SERIAL} refresh=3600 retry=600 expire=1209600 minimum=300 ttl=3600>",
                )
            ],
        )
        ns = ask(self.authority, "_tcp.example.com", dns.NS)
        self.assertEqual(
            [str(r.payload) for r in ns.answers],
            [
                "<NS name=ns1.example-hosting.net ttl=3600>",
                "<NS name=ns2.example-hosting.net ttl=3600>",
            ],
        )

    def test_any(self) -> None:
        """
        An ANY question gets every record at the name.
        """
        answer = ask(self.authority, "_caldavs._tcp.customer-one.example", dns.ALL_RECORDS)
        self.assertEqual([r.type for r in answer.answers], [dns.SRV, dns.TXT])

    def test_addressZone(self) -> None:
        """
        With addresses, C{autodiscover.D} is a zone with A and AAAA records,
        and the C{_autodiscover} SRV answer carries them as additional
        records only when they are in the same zone.
        """
        authority = authorityFor(
            exampleRegistry(
                mailfrontHostname=None, mailfrontAddresses=("192.0.2.10", "2001:db8::10")
            )
        )
        address = ask(authority, "autodiscover.example.com", dns.A)
        self.assertEqual(
            [str(r.payload) for r in address.answers], ["<A address=192.0.2.10 ttl=3600>"]
        )
        self.assertTrue(address.authoritative)
        srv = ask(authority, "_autodiscover._tcp.example.com", dns.SRV)
        self.assertEqual(srv.additional, ())

        whole = authorityFor(
            exampleRegistry(
                mailfrontHostname=None, mailfrontAddresses=("192.0.2.10",), zoneLayout="domain"
            )
        )
        srv = ask(whole, "_autodiscover._tcp.example.com", dns.SRV)
        self.assertEqual(
            texts(srv.additional),
            [("autodiscover.example.com", dns.A, 3600, "<A address=192.0.2.10 ttl=3600>")],
        )

    def test_cname(self) -> None:
        """
        In the C{domain} layout, an address question for C{autoconfig.D}
        gets the CNAME to the mailfront host.
        """
        authority = authorityFor(exampleRegistry(zoneLayout="domain"))
        answer = ask(authority, "autoconfig.example.com", dns.A)
        self.assertEqual((answer.rCode, answer.authoritative), (dns.OK, True))
        self.assertEqual(
            texts(answer.answers),
            [
                (
                    "autoconfig.example.com",
                    dns.CNAME,
                    3600,
                    "<CNAME name=discovery.example-hosting.net ttl=3600>",
                )
            ],
        )


class NegativeAnswerTests(SynchronousTestCase):
    """
    NXDOMAIN, NODATA and REFUSED.
    """

    def setUp(self) -> None:
        self.authority = authorityFor(exampleRegistry())

    def assertNegative(self, answer: Answer, rCode: int, origin: str) -> None:
        """
        Check an authoritative negative answer with the zone's SOA record,
        whose TTL is the SOA minimum (RFC 2308).
        """
        self.assertEqual((answer.rCode, answer.authoritative), (rCode, True))
        self.assertEqual(answer.answers, ())
        self.assertEqual(
            [(r.name.name.decode(), r.type, r.ttl) for r in answer.authority],
            [(origin, dns.SOA, 300)],
        )

    def test_nxdomain(self) -> None:
        """
        A name in a served zone that does not exist gets NXDOMAIN with the
        SOA record.
        """
        answer = ask(self.authority, "_nothing._tcp.example.com", dns.SRV)
        self.assertNegative(answer, dns.ENAME, "_tcp.example.com")

    def test_nodata(self) -> None:
        """
        A name that exists without the asked type gets NOERROR, no answer,
        and the SOA record.
        """
        answer = ask(self.authority, "_imaps._tcp.example.com", dns.A)
        self.assertNegative(answer, dns.OK, "_tcp.example.com")

    def test_emptyNonTerminal(self) -> None:
        """
        A name that only has names below it exists, so it gets NODATA.
        """
        authority = authorityFor(exampleRegistry(zoneLayout="domain"))
        answer = ask(authority, "_tcp.example.com", dns.TXT)
        self.assertNegative(answer, dns.OK, "example.com")

    def test_otherZone(self) -> None:
        """
        Names outside every served zone get REFUSED without the AA bit.
        """
        for name in ("example.org", "example.com", "autoconfig.example.com", "", "_tcp.example"):
            answer = ask(self.authority, name, dns.SRV)
            with self.subTest(name=name):
                self.assertEqual(answer, Answer(dns.EREFUSED))

    def test_otherClass(self) -> None:
        """
        Classes other than IN (CH, HS, ANY and unknown ones) get REFUSED.
        """
        for cls in (dns.CH, dns.HS, dns.ANY, 1234):
            answer = ask(self.authority, "_imaps._tcp.example.com", dns.SRV, cls)
            with self.subTest(cls=cls):
                self.assertEqual(answer, Answer(dns.EREFUSED))

    def test_nonAsciiName(self) -> None:
        """
        A name with bytes outside ASCII below a served zone does not exist.
        """
        answer = ask(self.authority, "_\xe9._tcp.example.com", dns.SRV)
        self.assertNegative(answer, dns.ENAME, "_tcp.example.com")

    def test_withoutDnsTable(self) -> None:
        """
        A snapshot without DNS data refuses every question.
        """
        registry = attrs.evolve(loadDirectory(EXAMPLE_CONFIG), dns=None)
        answer = ask(authorityFor(registry), "_imaps._tcp.example.com", dns.SRV)
        self.assertEqual(answer, Answer(dns.EREFUSED))


class SnapshotTests(SynchronousTestCase):
    """
    Answers follow the holder's current snapshot.
    """

    def test_swap(self) -> None:
        """
        After a swap, questions are answered from the new snapshot.
        """
        holder = SnapshotHolder(buildSnapshot(exampleRegistry(), 1))
        authority = Authority(holder, lambda domain: SERIAL)
        holder.swap(buildSnapshot(exampleRegistry(ttl=60), 2))
        answer = ask(authority, "_imaps._tcp.example.com", dns.SRV)
        self.assertEqual([r.ttl for r in answer.answers], [60])

    def test_defaultsWithoutTable(self) -> None:
        """
        A registry without C{[dns]} settings prepares no DNS data.
        """
        snapshot = buildSnapshot(attrs.evolve(loadDirectory(EXAMPLE_CONFIG), dns=None), 1)
        self.assertIsNone(snapshot.dns)
        self.assertIsInstance(exampleRegistry().dns, DnsSettings)
