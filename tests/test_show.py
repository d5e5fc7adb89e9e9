"""
Tests for C{mailfront show}: every protocol's response for an address.
"""

from __future__ import annotations

import io
import os

from lxml import etree
from twisted.trial.unittest import SynchronousTestCase

from mailfront.cli import main

from .running import EXAMPLE_CONFIG
from .versioned import INVALID_SYNTAX, writeConfig


def run(*arguments: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(arguments), out, err)
    return status, out.getvalue(), err.getvalue()


def section(output: str, title: str) -> list[str]:
    """
    Cut one section's lines out of the report.
    """
    lines = output.split("\n")
    start = lines.index(f"== {title} ==") + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("== ")), len(lines))
    return lines[start:end]


class ShowTests(SynchronousTestCase):
    """
    C{mailfront show EMAIL --config DIR}.
    """

    def test_knownAddress(self) -> None:
        """
        For a served address, the report names the provider and the file
        that configures the domain, and the Autoconfig section shows the
        request a client sends and the document it gets.
        """
        status, out, err = run("show", "Fred@Customer-One.example", "--config", EXAMPLE_CONFIG)

        self.assertEqual((status, err), (0, ""))
        self.assertEqual(
            out.split("\n")[0],
            "customer-one.example: provider example-hosting, configured in "
            f"{os.path.join(EXAMPLE_CONFIG, 'customers.toml')}",
        )
        lines = section(out, "Autoconfig")
        self.assertEqual(
            lines[0],
            "GET http://autoconfig.customer-one.example/mail/config-v1.1.xml"
            "?emailaddress=Fred%40Customer-One.example",
        )
        self.assertEqual(lines[1], "200 OK (application/xml; charset=utf-8)")
        document = etree.fromstring("\n".join(lines[2:]).strip().encode())
        self.assertEqual(document.findtext("emailProvider/displayName"), "Customer One")
        self.assertEqual(
            document.find("calendar").findtext("url"), "https://dav.customer-one.example/caldav/"
        )

    def test_everyProtocol(self) -> None:
        """
        The report shows the Outlook, ActiveSync and JSON Autodiscover
        responses, the Apple profile and the DNS records for the same
        address.
        """
        status, out, err = run("show", "pupil@school.example", "--config", EXAMPLE_CONFIG)
        self.assertEqual((status, err), (0, ""))

        outlook = section(out, "Autodiscover (Outlook)")
        self.assertEqual(
            outlook[0],
            "POST https://autodiscover.school.example/autodiscover/autodiscover.xml "
            "(outlook/requestschema/2006)",
        )
        self.assertEqual(outlook[1], "200 OK (text/xml; charset=utf-8)")
        self.assertIn("        <Server>imap.school.example</Server>", outlook)
        self.assertIn("        <LoginName>pupil</LoginName>", outlook)

        activeSync = section(out, "Autodiscover (ActiveSync)")
        self.assertIn(
            "          <Url>https://eas.school.example/Microsoft-Server-ActiveSync</Url>",
            activeSync,
        )

        json = section(out, "Autodiscover (JSON)")
        self.assertIn(
            '{"Protocol": "ActiveSync", "Url": '
            '"https://eas.school.example/Microsoft-Server-ActiveSync"}',
            json,
        )

        dnsLines = [line.split() for line in section(out, "DNS records")]
        self.assertIn(
            ["_imaps._tcp.school.example.", "3600", "IN", "SRV", "0", "0", "993",
             "imap.school.example."],
            dnsLines,
        )

        profile = section(out, "Apple profile (shown unsigned)")
        self.assertEqual(profile[1], "200 OK (application/x-apple-aspen-config)")
        self.assertIn("\t\t\t<string>imap.school.example</string>", profile)

    def test_unknownDomain(self) -> None:
        """
        For a domain that is not configured, the report states it, shows
        the not-found responses, and the exit status is 1.
        """
        status, out, _ = run("show", "fred@elsewhere.example", "--config", EXAMPLE_CONFIG)

        self.assertEqual(status, 1)
        self.assertEqual(
            out.split("\n")[0],
            "elsewhere.example is not in the configuration; every protocol responds not found.",
        )
        lines = section(out, "Autoconfig")
        self.assertEqual(
            lines[1:3],
            [
                "404 Not Found (text/plain; charset=utf-8)",
                "no mail configuration for elsewhere.example",
            ],
        )

    def test_invalidAddress(self) -> None:
        """
        An address without C{@} is reported with exit status 2.
        """
        status, out, err = run("show", "fred", "--config", EXAMPLE_CONFIG)

        self.assertEqual((status, out), (2, ""))
        self.assertEqual(err, "invalid email address: the email address has no '@'\n")

    def test_invalidConfiguration(self) -> None:
        """
        An invalid configuration is reported with every problem and exit
        status 1.
        """
        directory = self.mktemp()
        os.makedirs(directory)
        writeConfig(directory, INVALID_SYNTAX)

        status, out, err = run("show", "fred@example.com", "--config", directory)

        self.assertEqual((status, out), (1, ""))
        self.assertIn("service.toml: invalid TOML", err)
