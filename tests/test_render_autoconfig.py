"""
Tests for L{mailfront.render.autoconfig}.
"""

from __future__ import annotations

from lxml import etree
from twisted.trial.unittest import SynchronousTestCase

from mailfront.registry import (
    Authentication,
    DavServer,
    Description,
    Documentation,
    Enable,
    LoginPageInfo,
    OAuth2,
    Pop3Options,
    Provider,
    Server,
    WebMail,
)
from mailfront.render.autoconfig import prepareTemplate, renderAutoconfig

_FULL = Provider(
    id="full",
    displayName="Full & <Complete> Mail",
    displayShortName="Full",
    incoming=(
        Server(
            type="imap",
            hostname="imap.example.net",
            port=993,
            socketType="SSL",
            authentication=(
                Authentication("OAuth2"),
                Authentication("SCRAM-SHA-256-PLUS", "sasl"),
                Authentication("password-cleartext"),
            ),
            username="%EMAILADDRESS%",
        ),
        Server(
            type="pop3",
            hostname="pop.example.net",
            port=995,
            socketType="SSL",
            authentication=(Authentication("password-encrypted"),),
            username="%EMAILLOCALPART%",
            pop3=Pop3Options(True, 14, False, 15),
        ),
        Server(
            type="exchange",
            hostname="owa.example.net",
            owaURL="https://owa.example.net/owa/",
            ewsURL="https://owa.example.net/EWS/Exchange.asmx",
            easURL="https://owa.example.net/Microsoft-Server-ActiveSync",
            useGlobalPreferredServer=True,
        ),
        Server(type="ews", url="https://owa.example.net/EWS/Exchange.asmx",
               authentication=(Authentication("NTLM"),), username="%EMAILADDRESS%"),
    ),
    outgoing=(
        Server(
            type="smtp",
            hostname="smtp.example.net",
            port=465,
            socketType="SSL",
            authentication=(Authentication("password-cleartext"),),
            username="%EMAILADDRESS%",
            addThisServer=True,
            useGlobalPreferredServer=False,
            restriction="client-IP-address",
        ),
    ),
    calendars=(DavServer("caldav", "https://dav.example.net/cal/",
                         (Authentication("Basic", "http"),), "%EMAILADDRESS%"),),
    addressbooks=(DavServer("carddav", "https://dav.example.net/card/", (), None),),
    documentation=(Documentation("https://help.example.net/",
                                 (Description("Help", "en"), Description("Hilfe", "de"))),),
    instructions=(Documentation("https://help.example.net/first", (Description("First"),)),),
    webMail=WebMail(
        loginPage="https://webmail.example.net/",
        loginPageInfo=LoginPageInfo(
            url="https://webmail.example.net/login",
            username="%EMAILADDRESS%",
            usernameFieldId="user",
            usernameFieldName="u",
            passwordFieldId="pass",
            loginButtonName="go",
            waitForRedirectionURLPrefix="https://sso.example.net/",
        ),
    ),
    oauth2=OAuth2("sso.example.net", "IMAP SMTP", "https://sso.example.net/auth",
                  "https://sso.example.net/token", "client-1", "secret-1"),
    enable=Enable("https://example.net/enable", (Description("Turn on IMAP", "en"),)),
    clientConfigUpdate="https://autoconfig.example.net/mail/config-v1.1.xml",
)


def _parse(document: bytes) -> etree._Element:
    root: etree._Element = etree.fromstring(document)
    return root


class RenderAutoconfigTests(SynchronousTestCase):
    """
    Every registry field appears where Thunderbird and the draft expect it.
    """

    def setUp(self) -> None:
        self.document = renderAutoconfig(_FULL, "example.org")
        self.root = _parse(self.document)

    def test_bytes(self) -> None:
        """
        The document starts with the XML declaration, with no byte-order mark
        or whitespace before it.
        """
        self.assertTrue(self.document.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n'))

    def test_root(self) -> None:
        """
        The root is C{clientConfig version="1.1"} in no namespace.
        """
        self.assertEqual(self.root.tag, "clientConfig")
        self.assertEqual(self.root.get("version"), "1.1")

    def test_provider(self) -> None:
        """
        C{emailProvider} carries the requested domain as id and only domain,
        and the display names, escaped.
        """
        [provider] = self.root.findall("emailProvider")
        self.assertEqual(provider.get("id"), "example.org")
        self.assertEqual([d.text for d in provider.findall("domain")], ["example.org"])
        self.assertEqual(provider.findtext("displayName"), "Full & <Complete> Mail")
        self.assertEqual(provider.findtext("displayShortName"), "Full")
        self.assertIn(b"Full &amp; &lt;Complete&gt; Mail", self.document)

    def test_incomingOrder(self) -> None:
        """
        Incoming servers keep the registry's order of preference.
        """
        types = [s.get("type") for s in self.root.iterfind("emailProvider/incomingServer")]
        self.assertEqual(types, ["imap", "pop3", "exchange", "ews"])

    def test_imap(self) -> None:
        """
        A server's elements carry its values, with every authentication
        method in order and the SASL system attribute.
        """
        imap = self.root.find("emailProvider/incomingServer[@type='imap']")
        assert imap is not None
        self.assertEqual(imap.findtext("hostname"), "imap.example.net")
        self.assertEqual(imap.findtext("port"), "993")
        self.assertEqual(imap.findtext("socketType"), "SSL")
        self.assertEqual(imap.findtext("username"), "%EMAILADDRESS%")
        methods = [(a.text, a.get("system")) for a in imap.findall("authentication")]
        self.assertEqual(methods, [("OAuth2", None), ("SCRAM-SHA-256-PLUS", "sasl"),
                                   ("password-cleartext", None)])
        self.assertIsNone(imap.find("password"))

    def test_pop3Options(self) -> None:
        """
        POP3 options become the C{pop3} element's children.
        """
        pop3 = self.root.find("emailProvider/incomingServer[@type='pop3']/pop3")
        assert pop3 is not None
        self.assertEqual(pop3.findtext("leaveMessagesOnServer"), "true")
        self.assertEqual(pop3.findtext("daysToLeaveMessagesOnServer"), "14")
        self.assertEqual(pop3.findtext("downloadOnBiff"), "false")
        self.assertEqual(pop3.find("checkInterval").get("minutes"), "15")  # type: ignore[union-attr]

    def test_exchange(self) -> None:
        """
        The legacy Exchange form carries its three URLs, and URL types their
        C{url}.
        """
        exchange = self.root.find("emailProvider/incomingServer[@type='exchange']")
        assert exchange is not None
        self.assertEqual(exchange.findtext("owaURL"), "https://owa.example.net/owa/")
        self.assertEqual(exchange.findtext("ewsURL"), "https://owa.example.net/EWS/Exchange.asmx")
        self.assertEqual(exchange.findtext("easURL"),
                         "https://owa.example.net/Microsoft-Server-ActiveSync")
        self.assertEqual(exchange.findtext("useGlobalPreferredServer"), "true")
        ews = self.root.find("emailProvider/incomingServer[@type='ews']")
        assert ews is not None
        self.assertEqual(ews.findtext("url"), "https://owa.example.net/EWS/Exchange.asmx")
        self.assertIsNone(ews.find("hostname"))

    def test_outgoing(self) -> None:
        """
        The outgoing server carries its legacy flags.
        """
        [smtp] = self.root.findall("emailProvider/outgoingServer")
        self.assertEqual(smtp.get("type"), "smtp")
        self.assertEqual(smtp.findtext("port"), "465")
        self.assertEqual(smtp.findtext("addThisServer"), "true")
        self.assertEqual(smtp.findtext("useGlobalPreferredServer"), "false")
        self.assertEqual(smtp.findtext("restriction"), "client-IP-address")

    def test_documentation(self) -> None:
        """
        Documentation and instruction pages carry their descriptions with
        languages.
        """
        [page] = self.root.findall("emailProvider/documentation")
        self.assertEqual(page.get("url"), "https://help.example.net/")
        self.assertEqual([(d.get("lang"), d.text) for d in page.findall("descr")],
                         [("en", "Help"), ("de", "Hilfe")])
        [instruction] = self.root.findall("emailProvider/instruction")
        self.assertEqual(instruction.get("url"), "https://help.example.net/first")
        self.assertEqual(instruction.findtext("descr"), "First")

    def test_enable(self) -> None:
        """
        The enable page sits inside C{emailProvider} by default.
        """
        enable = self.root.find("emailProvider/enable")
        assert enable is not None
        self.assertEqual(enable.get("visiturl"), "https://example.net/enable")
        self.assertEqual(enable.findtext("instruction"), "Turn on IMAP")

    def test_webMail(self) -> None:
        """
        Web mail login hints keep every attribute.
        """
        webMail = self.root.find("webMail")
        assert webMail is not None
        self.assertEqual(webMail.find("loginPage").get("url"),  # type: ignore[union-attr]
                         "https://webmail.example.net/")
        info = webMail.find("loginPageInfo")
        assert info is not None
        self.assertEqual(info.get("url"), "https://webmail.example.net/login")
        self.assertEqual(info.get("waitForRedirectionURLPrefix"), "https://sso.example.net/")
        self.assertEqual(info.findtext("username"), "%EMAILADDRESS%")
        self.assertEqual(dict(info.find("usernameField").attrib),  # type: ignore[union-attr]
                         {"id": "user", "name": "u"})
        self.assertEqual(dict(info.find("passwordField").attrib),  # type: ignore[union-attr]
                         {"id": "pass"})
        self.assertEqual(dict(info.find("loginButton").attrib),  # type: ignore[union-attr]
                         {"name": "go"})

    def test_oauth2(self) -> None:
        """
        OAuth 2 parameters sit directly in C{clientConfig}.
        """
        oauth2 = self.root.find("oAuth2")
        assert oauth2 is not None
        self.assertEqual(
            [(child.tag, child.text) for child in oauth2],
            [("issuer", "sso.example.net"), ("scope", "IMAP SMTP"),
             ("authURL", "https://sso.example.net/auth"),
             ("tokenURL", "https://sso.example.net/token"),
             ("clientID", "client-1"), ("clientSecret", "secret-1")],
        )

    def test_dav(self) -> None:
        """
        Calendar and address book use the draft's element names.
        """
        calendar = self.root.find("calendar")
        assert calendar is not None
        self.assertEqual(calendar.get("type"), "caldav")
        self.assertEqual(calendar.findtext("url"), "https://dav.example.net/cal/")
        self.assertEqual(calendar.find("authentication").get("system"),  # type: ignore[union-attr]
                         "http")
        addressbook = self.root.find("addressbook")
        assert addressbook is not None
        self.assertEqual(addressbook.get("type"), "carddav")
        self.assertIsNone(addressbook.find("username"))
        self.assertIsNone(self.root.find("addressBook"))

    def test_clientConfigUpdate(self) -> None:
        """
        The update URL is an attribute of C{clientConfigUpdate}.
        """
        update = self.root.find("clientConfigUpdate")
        assert update is not None
        self.assertEqual(update.get("url"), "https://autoconfig.example.net/mail/config-v1.1.xml")

    def test_enableAtConfigLevel(self) -> None:
        """
        An enable page placed at C{clientConfig} level stays there.
        """
        import attrs

        provider = attrs.evolve(_FULL, enable=Enable("https://x.example/", (), "config"))
        root = _parse(renderAutoconfig(provider, "example.org"))
        self.assertIsNone(root.find("emailProvider/enable"))
        self.assertEqual(root.find("enable").get("visiturl"),  # type: ignore[union-attr]
                         "https://x.example/")


class TemplateTests(SynchronousTestCase):
    """
    Prepared templates give the same bytes as rendering from scratch.
    """

    def test_sameBytes(self) -> None:
        """
        Filling a template with a domain equals rendering for that domain.
        """
        template = prepareTemplate(_FULL)
        for domain in ("example.org", "xn--bcher-kva.example"):
            self.assertEqual(template.render(domain), renderAutoconfig(_FULL, domain))

    def test_domainEverywhere(self) -> None:
        """
        The domain fills the provider id and the domain element.
        """
        root = _parse(prepareTemplate(_FULL).render("customer.example"))
        self.assertEqual(root.find("emailProvider").get("id"),  # type: ignore[union-attr]
                         "customer.example")
        self.assertEqual(root.findtext("emailProvider/domain"), "customer.example")
