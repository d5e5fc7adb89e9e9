"""
Tests for L{mailfront.importer.reader}: one Autoconfig file to registry
records, with the repairs, warnings and errors reported to the administrator.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from mailfront.importer import ImportedFile, ImportFailed, readAutoconfig
from mailfront.importer.reader import MAX_FILE_SIZE, providerID
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

#: A file that uses every element the registry can express, including those
#: that no file of the ISP database has.
_COMPLETE = b"""<?xml version="1.0" encoding="UTF-8"?>
<!-- Served by hand since 2015. -->
<clientConfig version="1.1">
  <emailProvider id="example.net">
    <domain>example.net</domain>
    <domain>B\xc3\xbccher.example</domain>
    <displayName>Example Mail</displayName>
    <displayShortName>Example</displayShortName>
    <incomingServer type="imap">
      <hostname>imap.example.net</hostname>
      <port>993</port>
      <socketType>SSL</socketType>
      <authentication system="sasl">SCRAM-SHA-256-PLUS</authentication>
      <authentication>OAuth2</authentication>
      <authentication>password-cleartext</authentication>
      <username>%EMAILADDRESS%</username>
    </incomingServer>
    <incomingServer type="pop3">
      <username>%EMAILLOCALPART%</username>
      <authentication>password-encrypted</authentication>
      <socketType>STARTTLS</socketType>
      <port>110</port>
      <hostname>%EMAILDOMAIN%</hostname>
      <pop3>
        <leaveMessagesOnServer>true</leaveMessagesOnServer>
        <daysToLeaveMessagesOnServer>14</daysToLeaveMessagesOnServer>
        <downloadOnBiff>false</downloadOnBiff>
        <checkInterval minutes="15"/>
      </pop3>
    </incomingServer>
    <incomingServer type="exchange">
      <hostname>owa.example.net</hostname>
      <port>443</port>
      <socketType>SSL</socketType>
      <owaURL>https://owa.example.net/owa/</owaURL>
      <ewsURL>https://owa.example.net/EWS/Exchange.asmx</ewsURL>
      <easURL>https://owa.example.net/Microsoft-Server-ActiveSync</easURL>
      <useGlobalPreferredServer>true</useGlobalPreferredServer>
    </incomingServer>
    <incomingServer type="jmap">
      <url>https://jmap.example.net/session</url>
      <authentication system="http">Basic</authentication>
      <username>%EMAILADDRESS%</username>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>smtp.example.net</hostname>
      <port>25</port>
      <socketType>plain</socketType>
      <authentication>client-IP-address</authentication>
      <restriction>client-IP-address</restriction>
      <addThisServer>true</addThisServer>
      <useGlobalPreferredServer>false</useGlobalPreferredServer>
    </outgoingServer>
    <outgoingServer type="smtp">
      <hostname>smtp.example.net</hostname>
      <port>465</port>
      <socketType>SSL</socketType>
      <authentication>password-cleartext</authentication>
      <username>%EMAILADDRESS%</username>
    </outgoingServer>
    <documentation url="https://help.example.net/setup">
      <descr lang="en">Setting up your mail client</descr>
      <descr lang="de">E-Mail-Programm einrichten</descr>
    </documentation>
    <documentation url="https://help.example.net/plain"/>
    <instruction url="https://help.example.net/first">
      <descr>First steps</descr>
    </instruction>
  </emailProvider>
  <enable visiturl="https://example.net/settings">
    <instruction>Turn on IMAP</instruction>
    <instruction lang="de">IMAP einschalten</instruction>
  </enable>
  <webMail>
    <loginPage url="https://webmail.example.net/"/>
    <loginPageInfo url="https://webmail.example.net/login"
                   waitForRedirectionURLPrefix="https://webmail.example.net/inbox">
      <username>%EMAILADDRESS%</username>
      <usernameField id="user" name="login"/>
      <passwordField id="pass" name="password"/>
      <loginButton id="go" name="submit"/>
    </loginPageInfo>
  </webMail>
  <oAuth2>
    <issuer>login.example.net</issuer>
    <scope>IMAP SMTP offline_access</scope>
    <authURL>https://login.example.net/authorize</authURL>
    <tokenURL>https://login.example.net/token</tokenURL>
    <clientID>thunderbird</clientID>
  </oAuth2>
  <addressbook type="carddav">
    <url>https://dav.example.net/card/</url>
    <authentication system="http">Basic</authentication>
    <username>%EMAILADDRESS%</username>
  </addressbook>
  <calendar type="caldav">
    <url>https://dav.example.net/cal/</url>
  </calendar>
  <clientConfigUpdate url="https://autoconfig.example.net/update"/>
</clientConfig>
"""

#: The provider that L{_COMPLETE} converts to.
COMPLETE_PROVIDER = Provider(
    id="example.net",
    source="complete.xml",
    displayName="Example Mail",
    displayShortName="Example",
    incoming=(
        Server(
            type="imap",
            hostname="imap.example.net",
            port=993,
            socketType="SSL",
            authentication=(
                Authentication("SCRAM-SHA-256-PLUS", "sasl"),
                Authentication("OAuth2"),
                Authentication("password-cleartext"),
            ),
            username="%EMAILADDRESS%",
        ),
        Server(
            type="pop3",
            hostname="%EMAILDOMAIN%",
            port=110,
            socketType="STARTTLS",
            authentication=(Authentication("password-encrypted"),),
            username="%EMAILLOCALPART%",
            pop3=Pop3Options(True, 14, False, 15),
        ),
        Server(
            type="exchange",
            hostname="owa.example.net",
            port=443,
            socketType="SSL",
            owaURL="https://owa.example.net/owa/",
            ewsURL="https://owa.example.net/EWS/Exchange.asmx",
            easURL="https://owa.example.net/Microsoft-Server-ActiveSync",
            useGlobalPreferredServer=True,
        ),
        Server(
            type="jmap",
            url="https://jmap.example.net/session",
            authentication=(Authentication("Basic", "http"),),
            username="%EMAILADDRESS%",
        ),
    ),
    outgoing=(
        Server(
            type="smtp",
            hostname="smtp.example.net",
            port=25,
            socketType="plain",
            authentication=(Authentication("client-IP-address"),),
            restriction="client-IP-address",
            addThisServer=True,
            useGlobalPreferredServer=False,
        ),
        Server(
            type="smtp",
            hostname="smtp.example.net",
            port=465,
            socketType="SSL",
            authentication=(Authentication("password-cleartext"),),
            username="%EMAILADDRESS%",
        ),
    ),
    calendars=(DavServer("caldav", "https://dav.example.net/cal/"),),
    addressbooks=(
        DavServer(
            "carddav",
            "https://dav.example.net/card/",
            (Authentication("Basic", "http"),),
            "%EMAILADDRESS%",
        ),
    ),
    documentation=(
        Documentation(
            "https://help.example.net/setup",
            (
                Description("Setting up your mail client", "en"),
                Description("E-Mail-Programm einrichten", "de"),
            ),
        ),
        Documentation("https://help.example.net/plain"),
    ),
    instructions=(Documentation("https://help.example.net/first", (Description("First steps"),)),),
    webMail=WebMail(
        loginPage="https://webmail.example.net/",
        loginPageInfo=LoginPageInfo(
            url="https://webmail.example.net/login",
            username="%EMAILADDRESS%",
            usernameFieldId="user",
            usernameFieldName="login",
            passwordFieldId="pass",
            passwordFieldName="password",
            loginButtonId="go",
            loginButtonName="submit",
            waitForRedirectionURLPrefix="https://webmail.example.net/inbox",
        ),
    ),
    oauth2=OAuth2(
        issuer="login.example.net",
        scope="IMAP SMTP offline_access",
        authURL="https://login.example.net/authorize",
        tokenURL="https://login.example.net/token",
        clientID="thunderbird",
    ),
    enable=Enable(
        visitURL="https://example.net/settings",
        instructions=(Description("Turn on IMAP"), Description("IMAP einschalten", "de")),
        placement="config",
    ),
    clientConfigUpdate="https://autoconfig.example.net/update",
)

#: A minimal valid file; tests replace parts of it.
_MINIMAL = """<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="example.org">
    <domain>example.org</domain>
    <displayName>Example</displayName>
    <incomingServer type="imap">
      <hostname>imap.example.org</hostname>
      <port>993</port>
      <socketType>SSL</socketType>
      <authentication>password-cleartext</authentication>
      <username>%EMAILADDRESS%</username>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>smtp.example.org</hostname>
      <port>465</port>
      <socketType>SSL</socketType>
      <authentication>password-cleartext</authentication>
      <username>%EMAILADDRESS%</username>
    </outgoingServer>
  </emailProvider>
</clientConfig>
"""


def _read(text: str, old: str = "", new: str = "") -> ImportedFile:
    if old:
        assert old in text, old
        text = text.replace(old, new, 1)
    return readAutoconfig("in.xml", text.encode("utf-8"))


def _errors(text: str, old: str = "", new: str = "") -> list[str]:
    try:
        _read(text, old, new)
    except ImportFailed as e:
        return [str(error) for error in e.errors]
    raise AssertionError("the file was accepted")


def _warnings(imported: ImportedFile) -> list[str]:
    return [str(warning) for warning in imported.warnings]


class CompleteFileTests(SynchronousTestCase):
    """
    Every element the registry can express is read into the records.
    """

    def test_everyElement(self) -> None:
        """
        A file with every element becomes a provider with every field set,
        servers, authentication methods and descriptions in source order,
        and no warning.
        """
        imported = readAutoconfig("complete.xml", _COMPLETE)
        self.assertEqual(imported.provider, COMPLETE_PROVIDER)
        self.assertEqual(imported.domains, ("example.net", "xn--bcher-kva.example"))
        self.assertEqual(imported.warnings, ())

    def test_comments(self) -> None:
        """
        The text of XML comments is kept, so the written file can carry it.
        """
        imported = readAutoconfig("complete.xml", _COMPLETE)
        self.assertEqual(imported.comments, ("Served by hand since 2015.",))

    def test_declaredEncoding(self) -> None:
        """
        A file in another encoding than UTF-8 is read by its declaration.
        """
        text = _MINIMAL.replace("UTF-8", "ISO-8859-1").replace(
            "<displayName>Example", "<displayName>M\u00fcller Mail"
        )
        imported = readAutoconfig("latin1.xml", text.encode("iso-8859-1"))
        self.assertEqual(imported.provider.displayName, "M\u00fcller Mail")

    def test_enableInsideEmailProvider(self) -> None:
        """
        An C{enable} inside C{emailProvider} keeps that placement.
        """
        imported = _read(
            _MINIMAL,
            "</emailProvider>",
            '<enable visiturl="https://example.org/imap"/></emailProvider>',
        )
        self.assertEqual(imported.provider.enable, Enable(visitURL="https://example.org/imap"))


class RejectedFileTests(SynchronousTestCase):
    """
    A file that is not Autoconfig, or whose server settings are broken, is
    rejected with the file, the line and what is wrong.
    """

    def test_notXML(self) -> None:
        """
        Text that is not XML is rejected with the parser's reason and line.
        """
        [error] = _errors("<clientConfig>\n<emailProvider>\n</clientConfig>")
        self.assertTrue(error.startswith("in.xml:3: not well-formed XML: "), error)

    def test_empty(self) -> None:
        """
        An empty file is rejected.
        """
        [error] = _errors("")
        self.assertIn("in.xml", error)
        self.assertIn("not well-formed XML", error)

    def test_entityDeclaration(self) -> None:
        """
        A document type declaration is rejected, so entities that expand
        without bound or read local files never get expanded.
        """
        text = (
            '<?xml version="1.0"?>\n'
            '<!DOCTYPE clientConfig [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n'
            + _MINIMAL.split("\n", 1)[1].replace("<displayName>Example", "<displayName>&secret;")
        )
        [error] = _errors(text)
        self.assertEqual(
            error,
            "in.xml:1: the document has a document type declaration (<!DOCTYPE>), "
            "which is not accepted because it can declare entities",
        )

    def test_tooLarge(self) -> None:
        """
        A file larger than any real configuration is rejected unread.
        """
        text = _MINIMAL.replace("</clientConfig>", " " * MAX_FILE_SIZE + "</clientConfig>")
        [error] = _errors(text)
        self.assertEqual(error, f"in.xml: the document is larger than {MAX_FILE_SIZE} bytes")

    def test_otherRoot(self) -> None:
        """
        XML with another root element is not Autoconfig.
        """
        [error] = _errors('<?xml version="1.0"?>\n<Autodiscover/>')
        self.assertEqual(
            error,
            "in.xml:2: /Autodiscover: the root element is <Autodiscover>, not "
            "<clientConfig>; this is not an Autoconfig file",
        )

    def test_twoEmailProviders(self) -> None:
        """
        A file with two C{emailProvider} elements is rejected.
        """
        [error] = _errors(_MINIMAL, "</clientConfig>", '<emailProvider id="b"/></clientConfig>')
        self.assertIn("2 <emailProvider> elements; an Autoconfig file has one", error)

    def test_noDomain(self) -> None:
        """
        A provider without any domain cannot be served and is rejected.
        """
        [error] = _errors(_MINIMAL, "<domain>example.org</domain>", "")
        self.assertIn("no <domain>; a provider needs at least one domain", error)

    def test_invalidDomain(self) -> None:
        """
        A domain that is not a valid host name is rejected with its line.
        """
        [error] = _errors(_MINIMAL, "<domain>example.org</domain>", "<domain>bad domain</domain>")
        self.assertTrue(
            error.startswith("in.xml:4: /clientConfig/emailProvider/domain: invalid domain: "),
            error,
        )

    def test_badPort(self) -> None:
        """
        A port that is not a number is rejected with the element's path.
        """
        [error] = _errors(_MINIMAL, "<port>993</port>", "<port>imaps</port>")
        self.assertEqual(
            error,
            "in.xml:8: /clientConfig/emailProvider/incomingServer/port: "
            "port 'imaps' is not a whole number",
        )

    def test_missingHostname(self) -> None:
        """
        A mail server without a host name is rejected.
        """
        [error] = _errors(_MINIMAL, "<hostname>imap.example.org</hostname>", "")
        self.assertIn("incomingServer: no <hostname>", error)

    def test_unknownSocketType(self) -> None:
        """
        A socket type other than SSL, STARTTLS or plain is rejected.
        """
        [error] = _errors(_MINIMAL, "<socketType>SSL</socketType>", "<socketType>TLS</socketType>")
        self.assertIn("socket type 'TLS' is not SSL, STARTTLS or plain", error)

    def test_noAuthentication(self) -> None:
        """
        A server without an authentication method is rejected.
        """
        [error] = _errors(_MINIMAL, "<authentication>password-cleartext</authentication>", "")
        self.assertIn("incomingServer: no <authentication>", error)

    def test_onlyUnknownAuthentication(self) -> None:
        """
        A server whose every method is unknown is rejected.
        """
        [error] = _errors(
            _MINIMAL,
            "<authentication>password-cleartext</authentication>",
            "<authentication>kerberos-magic</authentication>",
        )
        self.assertIn("no usable <authentication> method is left", error)

    def test_badBoolean(self) -> None:
        """
        A boolean other than true or false is rejected.
        """
        [error] = _errors(
            _MINIMAL,
            "</outgoingServer>",
            "<addThisServer>yes</addThisServer></outgoingServer>",
        )
        self.assertIn("addThisServer: 'yes' is not true or false", error)

    def test_everyProblemReported(self) -> None:
        """
        Several problems in one file are all reported at once.
        """
        text = _MINIMAL.replace("<port>993</port>", "<port>x</port>").replace(
            "<port>465</port>", "<port>y</port>"
        )
        self.assertEqual(len(_errors(text)), 2)


class RepairedFileTests(SynchronousTestCase):
    """
    Mistakes with exactly one sensible reading are repaired, and each
    repair is reported as a warning.
    """

    def test_unterminatedPlaceholder(self) -> None:
        """
        C{%EMAILADDRESS} without its closing C{%}, as in the ISP database's
        Microsoft 365 file, is written as C{%EMAILADDRESS%}.
        """
        imported = _read(
            _MINIMAL,
            "<username>%EMAILADDRESS%</username>",
            "<username>%EMAILADDRESS</username>",
        )
        self.assertEqual(imported.provider.incoming[0].username, "%EMAILADDRESS%")
        self.assertEqual(
            _warnings(imported),
            [
                "in.xml:11: /clientConfig/emailProvider/incomingServer/username: "
                "placeholder '%EMAILADDRESS' written as '%EMAILADDRESS%'"
            ],
        )

    def test_lowerCasePlaceholder(self) -> None:
        """
        A placeholder in lower case is written in the upper case clients
        replace.
        """
        imported = _read(
            _MINIMAL,
            "<username>%EMAILADDRESS%</username>",
            "<username>%emaillocalpart%.%EMAILDOMAIN%</username>",
        )
        self.assertEqual(imported.provider.incoming[0].username, "%EMAILLOCALPART%.%EMAILDOMAIN%")
        self.assertEqual(len(imported.warnings), 1)

    def test_socketTypeCase(self) -> None:
        """
        A socket type in the wrong letter case is written as clients expect.
        """
        imported = _read(_MINIMAL, "<socketType>SSL</socketType>", "<socketType>ssl</socketType>")
        self.assertEqual(imported.provider.incoming[0].socketType, "SSL")
        self.assertIn("'ssl' written as 'SSL'", _warnings(imported)[0])

    def test_authenticationCase(self) -> None:
        """
        An authentication method in the wrong letter case is written as
        clients expect.
        """
        imported = _read(
            _MINIMAL,
            "<authentication>password-cleartext</authentication>",
            "<authentication>oauth2</authentication>",
        )
        self.assertEqual(imported.provider.incoming[0].authentication, (Authentication("OAuth2"),))
        self.assertEqual(len(imported.warnings), 1)

    def test_longDisplayName(self) -> None:
        """
        A display name over the 60 characters clients rely on is shortened
        at a word boundary; the full name is kept for the file's comments.
        """
        name = "The Very Long Name Of A Regional Mail Service For Many Customers"
        imported = _read(_MINIMAL, "<displayName>Example", f"<displayName>{name}")
        self.assertEqual(
            imported.provider.displayName,
            "The Very Long Name Of A Regional Mail Service For Many",
        )
        self.assertIn(f"<displayName> before shortening: {name}", imported.comments)
        [warning] = _warnings(imported)
        self.assertIn("64 characters is over the limit of 60", warning)

    def test_longDisplayShortName(self) -> None:
        """
        A short display name over 20 characters is shortened too.
        """
        imported = _read(
            _MINIMAL,
            "</displayName>",
            "</displayName><displayShortName>Supercalifragilistic Mail</displayShortName>",
        )
        self.assertEqual(imported.provider.displayShortName, "Supercalifragilistic")

    def test_repeatedDomain(self) -> None:
        """
        A domain listed twice, in any letter case, is written once.
        """
        imported = _read(
            _MINIMAL,
            "<domain>example.org</domain>",
            "<domain>example.org</domain><domain>Example.ORG</domain>",
        )
        self.assertEqual(imported.domains, ("example.org",))
        self.assertIn("domain example.org is listed more than once", _warnings(imported)[0])

    def test_oddProviderID(self) -> None:
        """
        An C{emailProvider id} that is not a valid name becomes one that is,
        and a missing id is replaced by the first domain.
        """
        imported = _read(_MINIMAL, 'id="example.org"', 'id="Example Mail (EU)"')
        self.assertEqual(imported.provider.id, "example-mail-eu")
        self.assertIn("provider id 'Example Mail (EU)' written as", _warnings(imported)[0])
        self.assertEqual(_read(_MINIMAL, ' id="example.org"', "").provider.id, "example.org")

    def test_providerIDCase(self) -> None:
        """
        An id that differs only in letter case is lower-cased without a
        warning, as ISP database ids such as C{MessagingEngine} are.
        """
        imported = _read(_MINIMAL, 'id="example.org"', 'id="MessagingEngine"')
        self.assertEqual(imported.provider.id, "messagingengine")
        self.assertEqual(imported.warnings, ())

    def test_providerIDFunction(self) -> None:
        """
        Domain-like ids become A-labels; other ids keep letters, digits,
        dots, hyphens and underscores.
        """
        self.assertEqual(providerID("B\u00fccher.Example"), "xn--bcher-kva.example")
        self.assertEqual(providerID("OXCloud-EU"), "oxcloud-eu")
        self.assertEqual(providerID("my_provider"), "my_provider")
        self.assertEqual(providerID("--//--"), "")


class DroppedElementTests(SynchronousTestCase):
    """
    Elements the registry cannot express are left out with a warning that
    states why. Clients ignore elements they do not know.
    """

    def assertDropped(self, old: str, new: str, reason: str) -> ImportedFile:
        imported = _read(_MINIMAL, old, new)
        self.assertEqual(len(imported.warnings), 1, _warnings(imported))
        self.assertIn(reason, _warnings(imported)[0])
        return imported

    def test_password(self) -> None:
        """
        A password is never imported.
        """
        imported = self.assertDropped(
            "</username>",
            "</username><password>hunter2</password>",
            "not imported: a served configuration never carries passwords",
        )
        self.assertNotIn("hunter2", repr(imported))

    def test_unknownElement(self) -> None:
        """
        An unknown element is left out.
        """
        self.assertDropped(
            "</displayName>",
            "</displayName><inputField key='USERNAME'>Name</inputField>",
            "not imported: the registry has no input fields",
        )

    def test_unsupportedService(self) -> None:
        """
        A service section the registry has no place for is left out.
        """
        self.assertDropped(
            "</clientConfig>",
            '<fileShare type="webdav"><url>https://files.example.org/</url></fileShare>'
            "</clientConfig>",
            "not imported: the registry has no file share services",
        )

    def test_mxDomain(self) -> None:
        """
        A C{domain purpose="mx"} is left out; the plain domains stay.
        """
        imported = self.assertDropped(
            "</domain>",
            '</domain><domain purpose="mx">hoster.example</domain>',
            "a domain with purpose='mx' is not imported",
        )
        self.assertEqual(imported.domains, ("example.org",))

    def test_unknownServerType(self) -> None:
        """
        A server of a type the registry does not know is left out; the
        other servers keep their order.
        """
        imported = self.assertDropped(
            '<incomingServer type="imap">',
            '<incomingServer type="xmpp"><url>wss://chat.example.org/</url></incomingServer>'
            '<incomingServer type="imap">',
            "server type 'xmpp' is not supported; server not imported",
        )
        self.assertEqual([s.type for s in imported.provider.incoming], ["imap"])

    def test_unknownAuthenticationWithFallback(self) -> None:
        """
        An unknown authentication method is left out when another remains,
        as clients skip methods they do not know.
        """
        imported = self.assertDropped(
            "<authentication>password-cleartext</authentication>",
            "<authentication>kerberos-magic</authentication>"
            "<authentication>password-cleartext</authentication>",
            "unknown authentication method 'kerberos-magic'; clients skip it",
        )
        self.assertEqual(
            imported.provider.incoming[0].authentication,
            (Authentication("password-cleartext"),),
        )

    def test_repeatedSingleElement(self) -> None:
        """
        A repeated element that can appear once keeps its first value.
        """
        imported = self.assertDropped(
            "<port>993</port>",
            "<port>993</port><port>143</port>",
            "repeated <port>; only the first one is imported",
        )
        self.assertEqual(imported.provider.incoming[0].port, 993)

    def test_repeatedRootSection(self) -> None:
        """
        A second C{webMail} is left out as a repetition, while two unknown
        elements are each reported as unknown.
        """
        imported = _read(
            _MINIMAL,
            "</clientConfig>",
            '<webMail><loginPage url="https://a.example.org/"/></webMail>'
            '<webMail><loginPage url="https://b.example.org/"/></webMail>'
            "<x/><x/></clientConfig>",
        )
        self.assertEqual(imported.provider.webMail, WebMail(loginPage="https://a.example.org/"))
        messages = [warning.message for warning in imported.warnings]
        self.assertEqual(
            messages,
            [
                "repeated <webMail>; only the first one is imported",
                "not imported: unknown element; clients ignore it",
                "not imported: unknown element; clients ignore it",
            ],
        )

    def test_incompleteOAuth2(self) -> None:
        """
        OAuth 2 settings without a token URL are left out as a whole.
        """
        imported = self.assertDropped(
            "</clientConfig>",
            "<oAuth2><issuer>login.example.org</issuer><scope>IMAP</scope>"
            "<authURL>https://login.example.org/a</authURL></oAuth2></clientConfig>",
            "no <tokenURL>; the OAuth 2 settings are not imported",
        )
        self.assertIsNone(imported.provider.oauth2)

    def test_emptyDescription(self) -> None:
        """
        An empty description is left out.
        """
        imported = self.assertDropped(
            "</outgoingServer>",
            '</outgoingServer><documentation url="https://help.example.org/">'
            '<descr lang="en"> </descr></documentation>',
            "empty; not imported",
        )
        self.assertEqual(
            imported.provider.documentation, (Documentation("https://help.example.org/"),)
        )
