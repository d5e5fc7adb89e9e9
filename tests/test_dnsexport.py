"""
Tests of C{mailfront dns}, including BIND's C{named-checkzone} on every zone
it exports.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import time

from twisted.trial.unittest import SynchronousTestCase

from mailfront.cli import main

from .running import EXAMPLE_CONFIG

#: A configuration in the "domain" layout whose mail hosts lie outside the
#: served domains, with a child domain and addresses for the discovery
#: names.
DOMAIN_LAYOUT = """
[dns]
ttl = 600
zone-layout = "domain"
name-servers = ["ns1.example-hosting.net", "ns2.example-hosting.net"]
mailfront-addresses = ["192.0.2.10", "2001:db8::10"]
[dns.soa]
rname = "hostmaster@example-hosting.net"

[providers.child]
domains = ["sub.example.com"]
[[providers.child.incoming]]
type = "jmap"
url = "https://jmap.example-hosting.net/.well-known/jmap"
authentication = ["OAuth2"]
"""


def run(*arguments: str) -> tuple[int, str, str]:
    """
    Run C{mailfront} and return its status, output and error output.
    """
    out, err = io.StringIO(), io.StringIO()
    status = main(list(arguments), out, err)
    return status, out.getvalue(), err.getvalue()


def configWith(testCase: SynchronousTestCase, replacements: dict[str, str]) -> str:
    """
    Copy the example configuration and replace or add files.

    @param replacements: File contents by file name; an empty text removes
        the file.
    """
    directory = testCase.mktemp()
    shutil.copytree(EXAMPLE_CONFIG, directory)
    for name, text in replacements.items():
        path = os.path.join(directory, name)
        if text:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        else:
            os.remove(path)
    return directory


class LinesTests(SynchronousTestCase):
    """
    Zone-file lines for an existing zone.
    """

    def test_oneDomain(self) -> None:
        """
        Naming a domain prints its records under a comment line.
        """
        status, out, err = run("dns", EXAMPLE_CONFIG, "school.example")
        self.assertEqual((status, err), (0, ""))
        self.assertEqual(
            out.splitlines(),
            [
                "; school.example",
                "_imaps._tcp.school.example.          3600 IN SRV   0 0 993 imap.school.example.",
                "_imap._tcp.school.example.           3600 IN SRV   0 0 0 .",
                "_pop3s._tcp.school.example.          3600 IN SRV   0 0 0 .",
                "_pop3._tcp.school.example.           3600 IN SRV   0 0 0 .",
                "_submission._tcp.school.example.     3600 IN SRV   0 0 587 smtp.school.example.",
                "_submissions._tcp.school.example.    3600 IN SRV   0 0 0 .",
                "_autodiscover._tcp.school.example.   3600 IN SRV   0 0 443 "
                "discovery.example-hosting.net.",
                "autoconfig.school.example.           3600 IN CNAME discovery.example-hosting.net.",
                "autodiscover.school.example.         3600 IN CNAME discovery.example-hosting.net.",
                "",
            ],
        )

    def test_unicodeDomain(self) -> None:
        """
        A domain may be named in Unicode; the output uses A-labels.
        """
        status, out, _ = run("dns", EXAMPLE_CONFIG, "Bücher.example")
        self.assertEqual(status, 0)
        self.assertEqual(out.splitlines()[0], "; xn--bcher-kva.example")

    def test_everyDomain(self) -> None:
        """
        Without domain arguments every domain is printed, sorted.
        """
        status, out, _ = run("dns", EXAMPLE_CONFIG)
        self.assertEqual(status, 0)
        self.assertEqual(
            [line for line in out.splitlines() if line.startswith(";")],
            [
                "; customer-one.example",
                "; example.com",
                "; example.net",
                "; exchange-customer.example",
                "; old-name.example",
                "; school.example",
                "; xn--bcher-kva.example",
            ],
        )

    def test_unknownDomain(self) -> None:
        """
        A domain that is not in the registry is an error.
        """
        self.assertEqual(
            run("dns", EXAMPLE_CONFIG, "example.org"),
            (1, "", "example.org: not a domain of the registry\n"),
        )

    def test_invalidConfiguration(self) -> None:
        """
        An invalid configuration is reported as C{mailfront check} does.
        """
        directory = configWith(self, {"dns.toml": "[dns]\nttl = 1\n"})
        status, out, err = run("dns", directory)
        self.assertEqual((status, out), (1, ""))
        self.assertIn("dns.name-servers: missing", err)

    def test_delegation(self) -> None:
        """
        C{--delegation} prints the NS records and CNAMEs that stay in the
        domain's own zone.
        """
        status, out, _ = run("dns", "--delegation", EXAMPLE_CONFIG, "school.example")
        self.assertEqual(status, 0)
        self.assertEqual(
            out.splitlines(),
            [
                "; In the zone of school.example:",
                "_tcp.school.example.           3600 IN NS    ns1.example-hosting.net.",
                "_tcp.school.example.           3600 IN NS    ns2.example-hosting.net.",
                "autoconfig.school.example.     3600 IN CNAME discovery.example-hosting.net.",
                "autodiscover.school.example.   3600 IN CNAME discovery.example-hosting.net.",
                "",
            ],
        )


class ZoneExportTests(SynchronousTestCase):
    """
    Complete zone files.
    """

    def test_serial(self) -> None:
        """
        C{--serial} sets the SOA serial; by default it is the Unix time.
        """
        _, out, _ = run("dns", "--zone", "--serial", "42", EXAMPLE_CONFIG, "school.example")
        soa = [line.split() for line in out.splitlines() if " SOA " in line]
        self.assertEqual([fields[6] for fields in soa], ["42"])

        before = int(time.time())
        _, out, _ = run("dns", "--zone", EXAMPLE_CONFIG, "school.example")
        after = int(time.time())
        [fields] = [line.split() for line in out.splitlines() if " SOA " in line]
        self.assertTrue(before <= int(fields[6]) <= after, fields)

    def test_invalidSerial(self) -> None:
        """
        A serial outside 32 bits is rejected.
        """
        self.assertEqual(
            run("dns", "--zone", "--serial", "4294967296", EXAMPLE_CONFIG),
            (1, "", "--serial: 4294967296 is not from 0 to 4294967295\n"),
        )

    def test_withoutDnsTable(self) -> None:
        """
        Complete zones need the C{[dns]} table.
        """
        directory = configWith(self, {"dns.toml": ""})
        status, out, err = run("dns", "--zone", directory)
        self.assertEqual((status, out), (1, ""))
        self.assertEqual(
            err,
            "complete zones need a [dns] table with name-servers and [dns.soa] rname; "
            "see docs/configuration.md\n",
        )

    def test_hostInsideServedZone(self) -> None:
        """
        In the C{domain} layout, a mail host under a served domain would be
        unresolvable, so no zone is printed.
        """
        layout = '[dns]\nzone-layout = "domain"\nname-servers = ["ns1.example-hosting.net"]\n'
        directory = configWith(self, {"dns.toml": layout + '[dns.soa]\nrname = "h@example.net"\n'})
        status, out, err = run("dns", "--zone", directory, "school.example")
        self.assertEqual((status, out), (1, ""))
        self.assertEqual(
            err.splitlines(),
            [
                "_imaps._tcp.school.example. SRV 0 0 993 imap.school.example.: the target lies "
                "in the zone school.example., which has no address records for it; name mail "
                "hosts outside the domains mailfront serves as whole zones",
                "_submission._tcp.school.example. SRV 0 0 587 smtp.school.example.: the target "
                "lies in the zone school.example., which has no address records for it; name "
                "mail hosts outside the domains mailfront serves as whole zones",
            ],
        )

    def test_outputDirectory(self) -> None:
        """
        C{--output-dir} writes one file per zone, named after the zone, and
        lists the files.
        """
        directory = self.mktemp()
        status, out, _ = run("dns", "--output-dir", directory, EXAMPLE_CONFIG, "school.example")
        self.assertEqual(status, 0)
        path = os.path.join(directory, "_tcp.school.example.zone")
        self.assertEqual(out, path + "\n")
        with open(path, encoding="ascii") as f:
            self.assertEqual(f.readline(), "$ORIGIN _tcp.school.example.\n")


class NamedCheckzoneTests(SynchronousTestCase):
    """
    BIND's C{named-checkzone} accepts every exported zone.
    """

    def setUp(self) -> None:
        if shutil.which("named-checkzone") is None:
            raise self.skipTest("named-checkzone is not installed (Debian package bind9-utils)")

    def checkAll(self, configDirectory: str) -> list[str]:
        """
        Export every zone of a configuration and check each one.

        @return: The zone names checked.
        """
        directory = self.mktemp()
        status, out, err = run("dns", "--output-dir", directory, "--serial", "1", configDirectory)
        self.assertEqual((status, err), (0, ""))
        checked = []
        for path in out.splitlines():
            origin = os.path.basename(path)[: -len(".zone")]
            # "-i local" keeps the integrity checks to in-zone names: the
            # default "full" resolves out-of-zone targets through the
            # system's resolver, and tests stay on loopback.
            result = subprocess.run(
                [
                    "named-checkzone",
                    "-i",
                    "local",
                    "-k",
                    "fail",
                    "-n",
                    "fail",
                    "-m",
                    "fail",
                    "-M",
                    "fail",
                    "-S",
                    "fail",
                    "-r",
                    "fail",
                    "-W",
                    "warn",
                    origin,
                    path,
                ],
                capture_output=True,
                text=True,
                timeout=30,
            )
            with self.subTest(zone=origin):
                self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
                self.assertNotIn("warning", (result.stdout + result.stderr).lower())
            checked.append(origin)
        return checked

    def test_exampleZones(self) -> None:
        """
        Every zone of the example configuration passes.
        """
        checked = self.checkAll(EXAMPLE_CONFIG)
        self.assertIn("_tcp.school.example", checked)
        self.assertIn("_mta-sts.example.com", checked)
        self.assertEqual(len(checked), 19)

    def test_domainLayoutZones(self) -> None:
        """
        Every zone of the C{domain} layout passes, with addresses for the
        discovery names and a delegated child domain.
        """
        directory = configWith(
            self, {"dns.toml": DOMAIN_LAYOUT, "school.toml": "", "customers.toml": ""}
        )
        checked = self.checkAll(directory)
        self.assertEqual(checked, ["example.com", "example.net", "sub.example.com"])
