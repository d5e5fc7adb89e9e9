"""
Tests of L{mailfront.render.autodiscover}: the documents Outlook, Thunderbird
and ActiveSync devices receive, built from registry records with no request.
"""

from __future__ import annotations

import datetime
import json

from twisted.trial.unittest import SynchronousTestCase

from mailfront.registry import DomainEntry
from mailfront.render.autoconfig import renderAutoconfig
from mailfront.render.autodiscover import (
    ErrorCode,
    Mailbox,
    Schema,
    autodiscoverURL,
    renderError,
    renderJSON,
    renderJSONError,
    renderMobileSyncResponse,
    renderOutlookResponse,
)

from .autodiscoverdata import (
    HOSTING_SETTINGS,
    MOBILESYNC_NS,
    OUTLOOK_NS,
    ROOT_NS,
    SCHOOL_MOBILESYNC,
    canonical,
    errorDocument,
    parseAnswer,
    registry,
)

NOON = datetime.datetime(2026, 5, 1, 12, 34, 56, 250000, tzinfo=datetime.timezone.utc)


def entry(domain: str) -> DomainEntry:
    """
    Look a domain up in the shared test registry.
    """
    found = registry().lookup(domain)
    assert found is not None
    return found


class OutlookSettingsTests(SynchronousTestCase):
    """
    Tests of the Outlook-schema settings answer.
    """

    def test_hostingProvider(self) -> None:
        """
        A mailbox of a served domain gets one Protocol per IMAP, POP3 and
        SMTP server, in the registry's order, with the login name filled in
        and every security element set explicitly.
        """
        answer = renderOutlookResponse(
            entry("example.org"), Mailbox("Fred.Smith", "example.org"), NOON
        )
        self.assertEqual(canonical(answer), canonical(HOSTING_SETTINGS))

    def test_placeholdersFilled(self) -> None:
        """
        Host name and login name templates get the mailbox's domain and
        local part, because Outlook does not substitute placeholders.
        """
        answer = parseAnswer(
            renderOutlookResponse(entry("school.example"), Mailbox("fred", "school.example"), NOON)
        )
        servers = [e.text for e in answer.iter(f"{{{OUTLOOK_NS}}}Server")]
        logins = [e.text for e in answer.iter(f"{{{OUTLOOK_NS}}}LoginName")]
        self.assertEqual(servers, ["imap.school.example", "smtp.school.example"])
        self.assertEqual(logins, ["fred", "fred"])

    def test_placeholderInLocalPartStaysText(self) -> None:
        """
        A local part that looks like a placeholder is echoed as it is, not
        substituted a second time.
        """
        answer = parseAnswer(
            renderOutlookResponse(
                entry("school.example"), Mailbox("%EMAILDOMAIN%", "school.example"), NOON
            )
        )
        logins = [e.text for e in answer.iter(f"{{{OUTLOOK_NS}}}LoginName")]
        self.assertEqual(logins, ["%EMAILDOMAIN%", "%EMAILDOMAIN%"])

    def test_echoedValuesEscaped(self) -> None:
        """
        Markup characters in the local part are escaped, so the response stays
        well-formed and carries the address unchanged.
        """
        localPart = "a&b<c>\"d'"
        document = renderOutlookResponse(
            entry("example.org"), Mailbox(localPart, "example.org"), NOON
        )
        self.assertNotIn(b"a&b<c>", document)
        answer = parseAnswer(document)
        address = answer.find(f".//{{{OUTLOOK_NS}}}AutoDiscoverSMTPAddress")
        assert address is not None
        self.assertEqual(address.text, localPart + "@example.org")

    def test_declarationAndNoPrefixes(self) -> None:
        """
        The response starts with the XML declaration, has no byte-order mark,
        and uses default namespace declarations only, because Thunderbird
        matches element names without namespaces.
        """
        document = renderOutlookResponse(entry("example.org"), Mailbox("fred", "example.org"), NOON)
        self.assertTrue(
            document.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n<Autodiscover')
        )
        root = parseAnswer(document)
        self.assertEqual([e.prefix for e in root.iter() if e.prefix is not None], [])
        self.assertEqual(root.tag, f"{{{ROOT_NS}}}Autodiscover")
        self.assertEqual(root[0].tag, f"{{{OUTLOOK_NS}}}Response")

    def test_noMailServers(self) -> None:
        """
        A provider without IMAP, POP3 or SMTP servers gets error 501 in the
        Outlook schema instead of an account without protocols.
        """
        document = renderOutlookResponse(
            entry("jmap.example"), Mailbox("fred", "jmap.example"), NOON
        )
        expected = errorDocument(
            501,
            "No configuration is available for this email address.",
            OUTLOOK_NS,
            "12:34:56.2500000",
        )
        self.assertEqual(canonical(document), canonical(expected))


#: A provider serving p.example, to which L{_server} adds servers.
PROVIDER_P = """
[providers.p]
domains = ["p.example"]
"""


def _server(kind: str, section: str, port: int, socketType: str, methods: str) -> str:
    return f"""
[[providers.p.{section}]]
type = "{kind}"
hostname = "{kind}.p.example"
port = {port}
socket-type = "{socketType}"
authentication = {methods}
"""


#: One server of every type with every socket type, on their usual ports.
ALL_SOCKET_TYPES = PROVIDER_P + "".join(
    _server(kind, section, port, socketType, '["password-cleartext"]')
    for kind, section, ports in (
        ("imap", "incoming", {"SSL": 993, "STARTTLS": 143, "plain": 143}),
        ("pop3", "incoming", {"SSL": 995, "STARTTLS": 110, "plain": 110}),
        ("smtp", "outgoing", {"SSL": 465, "STARTTLS": 587, "plain": 25}),
    )
    for socketType, port in ports.items()
)

#: How Outlook 2010 and later read Encryption.
OUTLOOK_ENCRYPTION = {"SSL": "SSL", "TLS": "STARTTLS", "None": "plain"}

#: Ports on which Thunderbird takes a POX server with SSL on to be STARTTLS.
THUNDERBIRD_STARTTLS_PORTS = {25, 110, 143, 587}


def _thunderbirdSecurity(ssl: str, encryption: str, port: int) -> str:
    """
    Read a Protocol's security the way Thunderbird's Exchange discovery
    does: SSL off or Encryption None is no encryption, and otherwise the
    port decides.
    """
    if ssl == "off" or encryption == "None":
        return "plain"
    return "STARTTLS" if port in THUNDERBIRD_STARTTLS_PORTS else "SSL"


class SecurityMappingTests(SynchronousTestCase):
    """
    The Autodiscover response describes the same servers with the same
    security as the Autoconfig response of the same domain, as Outlook and as
    Thunderbird read it.
    """

    def setUp(self) -> None:
        self.entry = registry(ALL_SOCKET_TYPES).lookup("p.example")
        assert self.entry is not None
        autoconfig = parseAnswer(renderAutoconfig(self.entry.provider, "p.example"))
        self.autoconfigServers = [
            (
                server.get("type"),
                server.findtext("hostname"),
                int(server.findtext("port") or 0),
                server.findtext("socketType"),
            )
            for server in autoconfig.iter("incomingServer", "outgoingServer")
        ]
        autodiscover = parseAnswer(
            renderOutlookResponse(self.entry, Mailbox("fred", "p.example"), NOON)
        )
        self.protocols = [
            {child.tag.split("}")[1]: child.text for child in protocol}
            for protocol in autodiscover.iter(f"{{{OUTLOOK_NS}}}Protocol")
        ]

    def test_everySocketTypeListed(self) -> None:
        """
        The fixture covers SSL, STARTTLS and plain for IMAP, POP3 and SMTP,
        so the comparisons below check every socket type.
        """
        self.assertEqual(
            sorted({(s[0], s[3]) for s in self.autoconfigServers}),
            sorted(
                (kind, socketType)
                for kind in ("imap", "pop3", "smtp")
                for socketType in ("SSL", "STARTTLS", "plain")
            ),
        )

    def test_outlookReadsSameSecurity(self) -> None:
        """
        Reading Encryption as Outlook does gives each Autoconfig server's
        host, port and socket type, in the same order.
        """
        outlook = [
            (
                p["Type"].lower(),
                p["Server"],
                int(p["Port"]),
                OUTLOOK_ENCRYPTION[p["Encryption"]],
            )
            for p in self.protocols
        ]
        self.assertEqual(outlook, self.autoconfigServers)

    def test_thunderbirdReadsSameSecurity(self) -> None:
        """
        Reading SSL, Encryption and the port as Thunderbird does gives each
        Autoconfig server's host, port and socket type, in the same order.
        """
        thunderbird = [
            (
                p["Type"].lower(),
                p["Server"],
                int(p["Port"]),
                _thunderbirdSecurity(p["SSL"], p["Encryption"], int(p["Port"])),
            )
            for p in self.protocols
        ]
        self.assertEqual(thunderbird, self.autoconfigServers)

    def test_spaAlwaysOff(self) -> None:
        """
        SPA is sent as off for password servers, because Outlook assumes on
        when it is absent.
        """
        self.assertEqual({p["SPA"] for p in self.protocols}, {"off"})


class AuthenticationTests(SynchronousTestCase):
    """
    Tests of SPA, AuthRequired, UsePOPAuth and SMTPLast.
    """

    def protocols(self, incomingMethods: str, outgoingMethods: str) -> list[dict[str, str]]:
        text = (
            PROVIDER_P
            + _server("imap", "incoming", 993, "SSL", incomingMethods)
            + _server("smtp", "outgoing", 465, "SSL", outgoingMethods)
        )
        found = registry(text).lookup("p.example")
        assert found is not None
        answer = parseAnswer(renderOutlookResponse(found, Mailbox("fred", "p.example"), NOON))
        return [
            {child.tag.split("}")[1]: child.text or "" for child in protocol}
            for protocol in answer.iter(f"{{{OUTLOOK_NS}}}Protocol")
        ]

    def test_ntlmOnly(self) -> None:
        """
        A server that offers NTLM and no cleartext password gets SPA on.
        """
        imap, smtp = self.protocols('["NTLM"]', '["NTLM", "password-cleartext"]')
        self.assertEqual((imap["SPA"], smtp["SPA"]), ("on", "off"))

    def test_noAuthentication(self) -> None:
        """
        An SMTP server that needs no login gets AuthRequired off and
        UsePOPAuth off; one that relies on POP before SMTP gets SMTPLast on.
        """
        imap, smtp = self.protocols('["password-cleartext"]', '["smtp-after-pop"]')
        self.assertEqual(imap["AuthRequired"], "on")
        self.assertEqual(
            (smtp["AuthRequired"], smtp["UsePOPAuth"], smtp["SMTPLast"]), ("off", "off", "on")
        )


class RedirectTests(SynchronousTestCase):
    """
    Tests of C{redirectAddr} and C{redirectUrl} responses.
    """

    def test_redirectAddress(self) -> None:
        """
        A domain with redirect-address sends Outlook to the new address,
        with the client's local part.
        """
        document = renderOutlookResponse(
            entry("renamed.example"), Mailbox("Fred", "renamed.example"), NOON
        )
        expected = f"""
<Autodiscover xmlns="{ROOT_NS}"><Response xmlns="{OUTLOOK_NS}">
  <User><AutoDiscoverSMTPAddress>Fred@renamed.example</AutoDiscoverSMTPAddress></User>
  <Account><AccountType>email</AccountType><Action>redirectAddr</Action>
    <RedirectAddr>Fred@example.org</RedirectAddr></Account>
</Response></Autodiscover>""".encode()
        self.assertEqual(canonical(document), canonical(expected))

    def test_redirectURL(self) -> None:
        """
        A domain with redirect-url sends Outlook to the other Autodiscover
        server.
        """
        document = renderOutlookResponse(
            entry("elsewhere.example"), Mailbox("fred", "elsewhere.example"), NOON
        )
        expected = f"""
<Autodiscover xmlns="{ROOT_NS}"><Response xmlns="{OUTLOOK_NS}">
  <User><AutoDiscoverSMTPAddress>fred@elsewhere.example</AutoDiscoverSMTPAddress></User>
  <Account><AccountType>email</AccountType><Action>redirectUrl</Action>
    <RedirectUrl>https://autodiscover.elsewhere.example/autodiscover/autodiscover.xml</RedirectUrl>
  </Account>
</Response></Autodiscover>""".encode()
        self.assertEqual(canonical(document), canonical(expected))

    def test_mobileSyncRedirect(self) -> None:
        """
        An ActiveSync device asking about a renamed domain gets
        C{Action/Redirect} with the new address.
        """
        document = renderMobileSyncResponse(
            entry("renamed.example"), Mailbox("fred", "renamed.example"), NOON
        )
        expected = f"""
<Autodiscover xmlns="{ROOT_NS}"><Response xmlns="{MOBILESYNC_NS}">
  <Culture>en:us</Culture>
  <User><EMailAddress>fred@renamed.example</EMailAddress></User>
  <Action><Redirect>fred@example.org</Redirect></Action>
</Response></Autodiscover>""".encode()
        self.assertEqual(canonical(document), canonical(expected))

    def test_autodiscoverURL(self) -> None:
        """
        The Autodiscover URL of a domain is its redirect-url, else its
        provider's autodiscover-url, else autodiscover.<domain>.
        """
        self.assertEqual(
            autodiscoverURL(entry("elsewhere.example")),
            "https://autodiscover.elsewhere.example/autodiscover/autodiscover.xml",
        )
        self.assertEqual(
            autodiscoverURL(entry("example.org")),
            "https://mail.hosting.example/autodiscover/autodiscover.xml",
        )
        self.assertEqual(
            autodiscoverURL(entry("school.example")),
            "https://autodiscover.school.example/autodiscover/autodiscover.xml",
        )


class MobileSyncTests(SynchronousTestCase):
    """
    Tests of the mobilesync-schema answer.
    """

    def test_activeSyncServer(self) -> None:
        """
        A provider with an ActiveSync URL gives it as the MobileSync server,
        with the domain filled in.
        """
        document = renderMobileSyncResponse(
            entry("school.example"), Mailbox("fred", "school.example"), NOON
        )
        self.assertEqual(canonical(document), canonical(SCHOOL_MOBILESYNC))

    def test_noActiveSync(self) -> None:
        """
        A provider without ActiveSync gets the schema's own error 601, so
        the device moves on.
        """
        document = renderMobileSyncResponse(
            entry("example.org"), Mailbox("fred", "example.org"), NOON
        )
        expected = errorDocument(
            601, "Provider is not available", MOBILESYNC_NS, "12:34:56.2500000"
        )
        self.assertEqual(canonical(document), canonical(expected))


class ErrorDocumentTests(SynchronousTestCase):
    """
    Tests of L{renderError}.
    """

    def test_rootNamespace(self) -> None:
        """
        Without a schema, Response stays in the root namespace, as Exchange
        responds to malformed requests, and Time is the time of day with seven
        fractional digits.
        """
        document = renderError(ErrorCode.INVALID_REQUEST, None, NOON)
        expected = errorDocument(600, "Invalid Request", None, "12:34:56.2500000")
        self.assertEqual(canonical(document), canonical(expected))
        self.assertTrue(document.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n'))

    def test_outlookNamespace(self) -> None:
        """
        With the Outlook schema, Response is in the 2006a namespace.
        """
        document = renderError(ErrorCode.ADDRESS_NOT_FOUND, Schema.OUTLOOK, NOON)
        expected = errorDocument(
            500, "The email address can't be found.", OUTLOOK_NS, "12:34:56.2500000"
        )
        self.assertEqual(canonical(document), canonical(expected))


class JSONTests(SynchronousTestCase):
    """
    Tests of the autodiscover.json bodies.
    """

    def test_success(self) -> None:
        """
        A success names the protocol and the URL.
        """
        self.assertEqual(
            json.loads(renderJSON("AutodiscoverV1", "https://a.example/x")),
            {"Protocol": "AutodiscoverV1", "Url": "https://a.example/x"},
        )

    def test_error(self) -> None:
        """
        An error has Exchange's two fields, and non-ASCII text is escaped.
        """
        body = renderJSONError("InvalidProtocol", "caf\u00e9")
        self.assertTrue(body.isascii())
        self.assertEqual(
            json.loads(body), {"ErrorCode": "InvalidProtocol", "ErrorMessage": "caf\u00e9"}
        )
