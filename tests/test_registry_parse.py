"""
Tests for L{mailfront.registry.parse}: the configuration format and the
messages an operator sees for a bad configuration.
"""

from __future__ import annotations

from textwrap import dedent

from twisted.trial.unittest import SynchronousTestCase

from mailfront.registry import (
    Authentication,
    InvalidConfiguration,
    buildRegistry,
    parseText,
)

_PROVIDER = """
[providers.hosting]
display-name = "Hosting Mail"
domains = ["example.com"]

[[providers.hosting.incoming]]
type = "imap"
hostname = "imap.example.net"
port = 993
socket-type = "SSL"
authentication = ["password-cleartext"]
username = "%EMAILADDRESS%"

[[providers.hosting.outgoing]]
type = "smtp"
hostname = "smtp.example.net"
port = 465
socket-type = "SSL"
authentication = ["password-cleartext"]
username = "%EMAILADDRESS%"
"""


def _registry(*texts: str):  # type: ignore[no-untyped-def]
    documents = [parseText(f"file{index}.toml", dedent(text)) for index, text in enumerate(texts)]
    return buildRegistry(documents)


def _messages(*texts: str) -> list[str]:
    try:
        _registry(*texts)
    except InvalidConfiguration as e:
        return [str(error) for error in e.errors]
    raise AssertionError("the configuration was accepted")


class ValidConfigurationTests(SynchronousTestCase):
    """
    Valid files become the records the protocols render.
    """

    def test_providerServers(self) -> None:
        """
        A provider's servers keep their order and every value.
        """
        registry = _registry(_PROVIDER)
        entry = registry.lookup("example.com")
        assert entry is not None
        self.assertEqual(entry.provider.displayName, "Hosting Mail")
        [imap] = entry.provider.incoming
        self.assertEqual(imap.type, "imap")
        self.assertEqual(imap.hostname, "imap.example.net")
        self.assertEqual(imap.port, 993)
        self.assertEqual(imap.socketType, "SSL")
        self.assertEqual(imap.authentication, (Authentication("password-cleartext"),))
        self.assertEqual(imap.username, "%EMAILADDRESS%")

    def test_domainOverride(self) -> None:
        """
        A domain table replaces the provider settings it names and keeps the
        rest; other domains of the provider are unchanged.
        """
        registry = _registry(
            _PROVIDER,
            """
            [domains."Customer.Example."]
            provider = "hosting"
            display-name = "Customer"
            """,
        )
        customer = registry.lookup("customer.example")
        assert customer is not None
        self.assertEqual(customer.provider.displayName, "Customer")
        self.assertEqual(customer.provider.incoming[0].hostname, "imap.example.net")
        plain = registry.lookup("example.com")
        assert plain is not None
        self.assertEqual(plain.provider.displayName, "Hosting Mail")

    def test_sharedProvider(self) -> None:
        """
        Domains without overrides share one provider record, so a registry
        of many domains costs one dictionary entry per domain.
        """
        registry = _registry(_PROVIDER.replace('["example.com"]', '["a.example", "b.example"]'))
        a = registry.lookup("a.example")
        b = registry.lookup("b.example")
        assert a is not None and b is not None
        self.assertIs(a.provider, b.provider)

    def test_internationalizedDomain(self) -> None:
        """
        A U-label domain is stored as its lower-case A-label.
        """
        registry = _registry(
            _PROVIDER,
            """
            [domains."Bücher.example"]
            provider = "hosting"
            """,
        )
        self.assertIsNotNone(registry.lookup("xn--bcher-kva.example"))

    def test_saslAuthentication(self) -> None:
        """
        Authentication entries may name a SASL mechanism with its system,
        and keep their order.
        """
        text = _PROVIDER.replace(
            'authentication = ["password-cleartext"]\nusername = "%EMAILADDRESS%"\n\n[[providers.hosting.outgoing]]',
            'authentication = [{ method = "SCRAM-SHA-256", system = "sasl" }, "password-cleartext"]\n'
            'username = "%EMAILADDRESS%"\n\n[[providers.hosting.outgoing]]',
        )
        entry = _registry(text).lookup("example.com")
        assert entry is not None
        self.assertEqual(
            entry.provider.incoming[0].authentication,
            (Authentication("SCRAM-SHA-256", "sasl"), Authentication("password-cleartext")),
        )


# Each row: a change to the valid provider text, and the message expected.
_BAD_CONFIGURATIONS = [
    (
        "unknown key with a suggestion",
        ("socket-type", "sockettype"),
        "file0.toml: providers.hosting.incoming[0].sockettype: unknown key; "
        "did you mean 'socket-type'?",
    ),
    (
        "wrong type",
        ("port = 993", 'port = "993"'),
        "file0.toml: providers.hosting.incoming[0].port: expected an integer port, "
        "found a string",
    ),
    (
        "port out of range",
        ("port = 993", "port = 99300"),
        "file0.toml: providers.hosting.incoming[0].port: port 99300 is out of range; "
        "use 1 to 65535",
    ),
    (
        "unknown placeholder",
        ('username = "%EMAILADDRESS%"\n\n[[providers.hosting.outgoing]]',
         'username = "%EMAIL%"\n\n[[providers.hosting.outgoing]]'),
        "file0.toml: providers.hosting.incoming[0].username: unknown placeholder %EMAIL% "
        "in '%EMAIL%'; use one of %EMAILADDRESS%, %EMAILDOMAIN%, %EMAILLOCALPART%",
    ),
    (
        "unknown authentication method",
        ('authentication = ["password-cleartext"]\nusername = "%EMAILADDRESS%"\n\n'
         "[[providers.hosting.outgoing]]",
         'authentication = ["password-clear"]\nusername = "%EMAILADDRESS%"\n\n'
         "[[providers.hosting.outgoing]]"),
        "file0.toml: providers.hosting.incoming[0].authentication[0]: unknown authentication "
        "method 'password-clear'; did you mean 'password-cleartext'?",
    ),
    (
        "socket type in the wrong case",
        ('socket-type = "SSL"\nauthentication = ["password-cleartext"]\n'
         'username = "%EMAILADDRESS%"\n\n[[providers.hosting.outgoing]]',
         'socket-type = "ssl"\nauthentication = ["password-cleartext"]\n'
         'username = "%EMAILADDRESS%"\n\n[[providers.hosting.outgoing]]'),
        "file0.toml: providers.hosting.incoming[0].socket-type: unknown socket type 'ssl'; "
        "write 'SSL'",
    ),
    (
        "display name over the limit",
        ('display-name = "Hosting Mail"', 'display-name = "' + "x" * 61 + '"'),
        "file0.toml: providers.hosting.display-name: 61 characters is over the limit of 60; "
        "shorten it",
    ),
    (
        "missing port",
        ("port = 993\n", ""),
        "file0.toml: providers.hosting.incoming[0].port: missing",
    ),
    (
        "unknown server type",
        ('type = "imap"', 'type = "imap4"'),
        "file0.toml: providers.hosting.incoming[0].type: unknown server type 'imap4'; use one "
        "of activesync, ews, exchange, graph, imap, jmap, nntp, owa, pop3",
    ),
]


class InvalidConfigurationTests(SynchronousTestCase):
    """
    A bad configuration is rejected as a whole, with one message per problem
    that names the file, the key and what is wrong.
    """

    def test_table(self) -> None:
        """
        Each row of the table of bad changes gives exactly its message.
        """
        for name, (old, new), expected in _BAD_CONFIGURATIONS:
            self.assertIn(old, _PROVIDER, name)
            messages = _messages(_PROVIDER.replace(old, new, 1))
            self.assertEqual(messages, [expected], name)

    def test_invalidHostname(self) -> None:
        """
        A host name that is not a valid DNS name is rejected with its key; the
        detail after the colon comes from the IDNA library.
        """
        [message] = _messages(
            _PROVIDER.replace('hostname = "imap.example.net"', 'hostname = "imap example.net"')
        )
        self.assertTrue(
            message.startswith(
                "file0.toml: providers.hosting.incoming[0].hostname: invalid host name: "
                "'imap example.net' is not a valid domain name: "
            ),
            message,
        )

    def test_imapWithoutSmtp(self) -> None:
        """
        A provider with IMAP but no SMTP server is rejected, because clients
        refuse such a configuration.
        """
        text = _PROVIDER[: _PROVIDER.index("[[providers.hosting.outgoing]]")]
        [message] = _messages(text)
        self.assertTrue(
            message.startswith("file0.toml: providers.hosting.outgoing: missing; a provider "
                               "with IMAP or POP3 needs at least one SMTP server"),
            message,
        )

    def test_domainClaimedTwice(self) -> None:
        """
        A domain listed by two providers is rejected, naming both.
        """
        other = _PROVIDER.replace("hosting", "other")
        messages = _messages(_PROVIDER, other)
        self.assertEqual(len(messages), 1)
        self.assertIn("file1.toml: providers.other.domains[0]: domain 'example.com' is claimed "
                      "by provider 'hosting'", messages[0])
        self.assertIn("and by provider 'other'", messages[0])

    def test_domainTableNamesOtherProvider(self) -> None:
        """
        A domain table that names a different provider than the one listing
        the domain is rejected.
        """
        other = _PROVIDER.replace("hosting", "other").replace('["example.com"]', "[]")
        messages = _messages(
            _PROVIDER, other, '[domains."example.com"]\nprovider = "other"\n'
        )
        self.assertEqual(len(messages), 1)
        self.assertIn("file2.toml: domains.\"example.com\".provider:", messages[0])

    def test_unknownProvider(self) -> None:
        """
        A domain naming a provider that does not exist gets a suggestion.
        """
        messages = _messages(_PROVIDER, '[domains."x.example"]\nprovider = "hostin"\n')
        self.assertEqual(
            messages,
            ["file1.toml: domains.\"x.example\".provider: unknown provider 'hostin'; "
             "did you mean 'hosting'?"],
        )

    def test_invalidTOML(self) -> None:
        """
        A syntax error names the file and TOML's own position.
        """
        [message] = _messages("[providers.x\n")
        self.assertTrue(message.startswith("file0.toml: invalid TOML: "), message)
        self.assertIn("line 1", message)

    def test_unknownTopLevelKey(self) -> None:
        """
        A misspelt top-level table gets a suggestion.
        """
        [message] = _messages('[provider.x]\ndisplay-name = "x"\n')
        self.assertEqual(message, "file0.toml: provider: unknown key; did you mean 'providers'?")

    def test_everyProblemReported(self) -> None:
        """
        Several problems in one file are all reported, in file order.
        """
        text = _PROVIDER.replace("port = 993", "port = 0").replace("port = 465", "port = -1")
        messages = _messages(text)
        self.assertEqual(len(messages), 2)
        self.assertIn("incoming[0].port", messages[0])
        self.assertIn("outgoing[0].port", messages[1])

    def test_invalidDomainName(self) -> None:
        """
        A listed domain that is not a valid name is rejected with its key.
        """
        messages = _messages(_PROVIDER.replace('["example.com"]', '["exa mple.com"]'))
        self.assertEqual(len(messages), 1)
        self.assertTrue(
            messages[0].startswith("file0.toml: providers.hosting.domains[0]: 'exa mple.com' "
                                   "is not a valid domain name"),
            messages[0],
        )

    def test_errorMessageHeader(self) -> None:
        """
        The exception text counts the problems and lists each on its line.
        """
        try:
            _registry(_PROVIDER.replace("port = 993", "port = 0"))
        except InvalidConfiguration as e:
            lines = str(e).splitlines()
        self.assertEqual(lines[0], "invalid configuration (1 problem):")
        self.assertTrue(lines[1].startswith("  file0.toml: providers.hosting.incoming[0].port:"))
