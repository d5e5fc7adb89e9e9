"""
Tests for L{mailfront.render.setuppage}, called without any request.
"""

from __future__ import annotations

from lxml import html
from twisted.trial.unittest import SynchronousTestCase

from mailfront.registry import DomainEntry, Provider, Server, Authentication
from mailfront.render.account import Account
from mailfront.render.setuppage import AccountSettings, renderSetupPage


class SetupPageRenderTests(SynchronousTestCase):
    """
    The page is valid, accessible HTML whatever the registry and the person
    typed.
    """

    def test_emptyForm(self) -> None:
        """
        Without an address the page has a language, a title, a labelled
        field and a submit button, and no settings.
        """
        page = html.fromstring(renderSetupPage("Example Mail", "/"))
        self.assertEqual(page.get("lang"), "en")
        self.assertEqual(page.findtext(".//title"), "Mail settings – Example Mail")
        [label] = page.iter("label")
        field = page.get_element_by_id(label.get("for"))
        self.assertEqual(field.get("name"), "emailaddress")
        self.assertIsNone(field.get("value"))
        self.assertEqual([b.get("type") for b in page.iter("button")], ["submit"])
        self.assertEqual(page.xpath("//table | //section"), [])

    def test_brandEscaped(self) -> None:
        """
        A display name with markup is shown as text in the heading and the
        title.
        """
        body = renderSetupPage("<i>Evil & Co</i>", "/")
        page = html.fromstring(body)
        self.assertEqual(page.findtext(".//h1"), "<i>Evil & Co</i>")
        self.assertEqual(page.xpath("//i"), [])
        self.assertIn(b"&lt;i&gt;Evil &amp; Co&lt;/i&gt;", body)

    def test_registryValuesEscaped(self) -> None:
        """
        Registry values and the address in tables and links are escaped.
        """
        server = Server("imap", "imap.example.org", 993, "SSL",
                        (Authentication("X<b>", "sasl"),), "%EMAILLOCALPART%")
        entry = DomainEntry("example.org", Provider("p", incoming=(server,)))
        settings = AccountSettings(entry, Account("a<b>", "example.org"),
                                   "/apple/mail.mobileconfig?emailaddress=a%3Cb%3E%40example.org",
                                   None)
        page = html.fromstring(renderSetupPage(None, "/", "a<b>@example.org", settings))
        cells = [td.text_content() for td in page.iter("td")]
        self.assertEqual(cells, ["IMAP (recommended)", "imap.example.org", "993", "SSL/TLS",
                                 "a<b>", "X<b>"])
        self.assertEqual(page.xpath("//b"), [])
        self.assertEqual(page.findtext(".//h1"), "Mail setup")

    def test_noQRCodeWithoutURL(self) -> None:
        """
        Without an absolute URL the page keeps the download link and leaves
        out the QR code.
        """
        entry = DomainEntry("example.org", Provider("p"))
        settings = AccountSettings(entry, Account("fred", "example.org"), "/x", None)
        page = html.fromstring(renderSetupPage(None, "/", "fred@example.org", settings))
        self.assertEqual(page.get_element_by_id("profile-link").get("href"), "/x")
        self.assertEqual(page.xpath("//img"), [])
