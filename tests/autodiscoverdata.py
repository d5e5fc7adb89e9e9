"""
A registry, request bodies and XML helpers shared by the Autodiscover tests.

The namespace URIs are written out here, not imported from the code under
test, so a typo in the code fails the tests.
"""

from __future__ import annotations

from typing import Optional

from lxml import etree

from mailfront.registry import Registry, buildRegistry, parseText
from mailfront.snapshot import SnapshotHolder, buildSnapshot

ROOT_NS = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
OUTLOOK_NS = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
MOBILESYNC_NS = "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006"
OUTLOOK_REQUEST_NS = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
MOBILESYNC_REQUEST_NS = (
    "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006"
)

#: Providers and domains covering every kind of response.
REGISTRY_TOML = """
[providers.hosting]
display-name = "Hosting"
domains = ["example.org", "xn--bcher-kva.example"]
autodiscover-url = "https://mail.hosting.example/autodiscover/autodiscover.xml"

[[providers.hosting.incoming]]
type = "imap"
hostname = "mail.hosting.example"
port = 993
socket-type = "SSL"
authentication = ["password-cleartext"]
username = "%EMAILADDRESS%"

[[providers.hosting.incoming]]
type = "pop3"
hostname = "mail.hosting.example"
port = 995
socket-type = "SSL"
authentication = ["password-cleartext"]
username = "%EMAILADDRESS%"

[[providers.hosting.outgoing]]
type = "smtp"
hostname = "smtp.hosting.example"
port = 465
socket-type = "SSL"
authentication = ["password-cleartext"]
username = "%EMAILADDRESS%"

[[providers.hosting.outgoing]]
type = "smtp"
hostname = "smtp.hosting.example"
port = 587
socket-type = "STARTTLS"
authentication = ["password-cleartext"]
username = "%EMAILADDRESS%"

[providers.school]
domains = ["school.example"]
activesync-url = "https://eas.%EMAILDOMAIN%/Microsoft-Server-ActiveSync"

[[providers.school.incoming]]
type = "imap"
hostname = "imap.%EMAILDOMAIN%"
port = 143
socket-type = "STARTTLS"
authentication = ["password-cleartext"]
username = "%EMAILLOCALPART%"

[[providers.school.outgoing]]
type = "smtp"
hostname = "smtp.%EMAILDOMAIN%"
port = 587
socket-type = "STARTTLS"
authentication = ["password-cleartext"]
username = "%EMAILLOCALPART%"

[providers.jmap-only]
domains = ["jmap.example"]

[[providers.jmap-only.incoming]]
type = "jmap"
url = "https://jmap.example/.well-known/jmap"
authentication = ["password-cleartext"]

[domains."renamed.example"]
provider = "hosting"
redirect-address = "%EMAILLOCALPART%@example.org"

[domains."elsewhere.example"]
provider = "hosting"
redirect-url = "https://autodiscover.elsewhere.example/autodiscover/autodiscover.xml"
"""

#: The Outlook request schema's AcceptableResponseSchema value.
OUTLOOK_SCHEMA_TEXT = OUTLOOK_NS

#: The mobilesync request schema's AcceptableResponseSchema value.
MOBILESYNC_SCHEMA_TEXT = MOBILESYNC_NS


#: The Outlook answer for Fred.Smith@example.org under L{REGISTRY_TOML},
#: written out by hand.
HOSTING_SETTINGS = f"""
<Autodiscover xmlns="{ROOT_NS}">
  <Response xmlns="{OUTLOOK_NS}">
    <User><AutoDiscoverSMTPAddress>Fred.Smith@example.org</AutoDiscoverSMTPAddress></User>
    <Account>
      <AccountType>email</AccountType>
      <Action>settings</Action>
      <Protocol>
        <Type>IMAP</Type><Server>mail.hosting.example</Server><Port>993</Port>
        <LoginName>Fred.Smith@example.org</LoginName><DomainRequired>off</DomainRequired>
        <SPA>off</SPA><SSL>on</SSL><Encryption>SSL</Encryption><AuthRequired>on</AuthRequired>
      </Protocol>
      <Protocol>
        <Type>POP3</Type><Server>mail.hosting.example</Server><Port>995</Port>
        <LoginName>Fred.Smith@example.org</LoginName><DomainRequired>off</DomainRequired>
        <SPA>off</SPA><SSL>on</SSL><Encryption>SSL</Encryption><AuthRequired>on</AuthRequired>
      </Protocol>
      <Protocol>
        <Type>SMTP</Type><Server>smtp.hosting.example</Server><Port>465</Port>
        <LoginName>Fred.Smith@example.org</LoginName><DomainRequired>off</DomainRequired>
        <SPA>off</SPA><SSL>on</SSL><Encryption>SSL</Encryption><AuthRequired>on</AuthRequired>
        <UsePOPAuth>on</UsePOPAuth><SMTPLast>off</SMTPLast>
      </Protocol>
      <Protocol>
        <Type>SMTP</Type><Server>smtp.hosting.example</Server><Port>587</Port>
        <LoginName>Fred.Smith@example.org</LoginName><DomainRequired>off</DomainRequired>
        <SPA>off</SPA><SSL>on</SSL><Encryption>TLS</Encryption><AuthRequired>on</AuthRequired>
        <UsePOPAuth>on</UsePOPAuth><SMTPLast>off</SMTPLast>
      </Protocol>
    </Account>
  </Response>
</Autodiscover>
""".encode()

#: The mobilesync answer for fred@school.example under L{REGISTRY_TOML},
#: written out by hand.
SCHOOL_MOBILESYNC = f"""
<Autodiscover xmlns="{ROOT_NS}"><Response xmlns="{MOBILESYNC_NS}">
  <Culture>en:us</Culture>
  <User><EMailAddress>fred@school.example</EMailAddress></User>
  <Action><Settings><Server>
    <Type>MobileSync</Type>
    <Url>https://eas.school.example/Microsoft-Server-ActiveSync</Url>
    <Name>https://eas.school.example/Microsoft-Server-ActiveSync</Name>
  </Server></Settings></Action>
</Response></Autodiscover>
""".encode()


def registry(text: str = REGISTRY_TOML) -> Registry:
    """
    Build a registry from TOML text.
    """
    return buildRegistry([parseText("test.toml", text)])


def holder(text: str = REGISTRY_TOML) -> SnapshotHolder:
    """
    Build a snapshot holder serving the registry of C{text}.
    """
    return SnapshotHolder(buildSnapshot(registry(text), 1))


def outlookRequest(address: str, schema: Optional[str] = OUTLOOK_SCHEMA_TEXT) -> bytes:
    """
    Build an Outlook request body as Thunderbird sends it: the XML
    declaration, then indented lines, with the address inserted as text.

    @param address: Inserted without escaping, as Thunderbird does.
    @param schema: The AcceptableResponseSchema, or C{None} to leave it out.
    """
    acceptable = (
        f"    <AcceptableResponseSchema>{schema}</AcceptableResponseSchema>\n"
        if schema is not None
        else ""
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<Autodiscover xmlns="{OUTLOOK_REQUEST_NS}">\n'
        "  <Request>\n"
        f"    <EMailAddress>{address}</EMailAddress>\n"
        f"{acceptable}"
        "  </Request>\n"
        "</Autodiscover>\n"
    ).encode("utf-8")


def mobileSyncRequest(address: str) -> bytes:
    """
    Build a mobilesync request body, minified, as ActiveSync devices send it.
    """
    return (
        f'<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="{MOBILESYNC_REQUEST_NS}">'
        f"<Request><EMailAddress>{address}</EMailAddress>"
        f"<AcceptableResponseSchema>{MOBILESYNC_SCHEMA_TEXT}</AcceptableResponseSchema>"
        "</Request></Autodiscover>"
    ).encode("utf-8")


def canonical(document: bytes) -> str:
    """
    Canonicalize a document, ignoring whitespace around text, so two
    documents compare equal when they have the same elements, namespaces,
    prefixes, attributes and text.
    """
    return etree.canonicalize(document.decode("utf-8").split("?>", 1)[-1], strip_text=True)


def parseAnswer(document: bytes) -> etree._Element:
    """
    Parse a response with a parser that loads nothing from outside.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.fromstring(document, parser)


def errorDocument(code: int, message: str, namespace: Optional[str], time: str) -> bytes:
    """
    Write out the error document mailfront is expected to send.

    @param namespace: The namespace of C{Response}, or C{None} when it stays
        in the root namespace.
    """
    responseStart = "<Response>" if namespace is None else f'<Response xmlns="{namespace}">'
    return (
        f'<Autodiscover xmlns="{ROOT_NS}">{responseStart}'
        f'<Error Time="{time}" Id="245727620">'
        f"<ErrorCode>{code}</ErrorCode><Message>{message}</Message><DebugData/>"
        "</Error></Response></Autodiscover>"
    ).encode("utf-8")


#: Nine levels of ten references each: a billion "lol"s, about 3 GB, when
#: expanded.
ENTITY_BOMB = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + b"".join(
        b' <!ENTITY lol%d "%s">\n'
        % (level, (b"&lol%s;" % (b"%d" % (level - 1) if level > 1 else b"")) * 10)
        for level in range(1, 10)
    )
    + b"]>\n<lolz>&lol9;</lolz>"
)


def externalEntity(path: str) -> bytes:
    """
    Build a request whose address is an external entity naming a file.
    """
    return (
        f'<?xml version="1.0"?><!DOCTYPE Autodiscover [<!ENTITY e SYSTEM "file://{path}">]>'
        "<Autodiscover><Request><EMailAddress>&e;</EMailAddress></Request></Autodiscover>"
    ).encode()
