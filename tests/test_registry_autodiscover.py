"""
Tests of the configuration keys Autodiscover reads: C{activesync-url},
C{autodiscover-url}, C{redirect-address} and C{redirect-url}.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from mailfront.registry import InvalidConfiguration, buildRegistry, parseText
from mailfront.registry.emit import formatProviderFile

PROVIDER = """
[providers.hosting]
domains = ["example.org"]

[[providers.hosting.incoming]]
type = "imap"
hostname = "mail.hosting.example"
port = 993
socket-type = "SSL"
authentication = ["password-cleartext"]

[[providers.hosting.outgoing]]
type = "smtp"
hostname = "mail.hosting.example"
port = 465
socket-type = "SSL"
authentication = ["password-cleartext"]
"""


def problems(extra: str) -> list[str]:
    """
    Load the provider plus C{extra} and list the problems found.
    """
    try:
        buildRegistry([parseText("test.toml", PROVIDER + extra)])
    except InvalidConfiguration as e:
        return [str(error) for error in e.errors]
    return []


def domainTable(lines: str) -> str:
    return f'\n[domains."renamed.example"]\nprovider = "hosting"\n{lines}\n'


class ProviderURLTests(SynchronousTestCase):
    """
    Tests of C{activesync-url} and C{autodiscover-url}.
    """

    def test_valid(self) -> None:
        """
        https URLs, with C{%EMAILDOMAIN%} in them, are accepted and stored.
        """
        text = PROVIDER.replace(
            'domains = ["example.org"]',
            'domains = ["example.org"]\n'
            'activesync-url = "https://eas.%EMAILDOMAIN%/Microsoft-Server-ActiveSync"\n'
            'autodiscover-url = "https://mail.hosting.example/autodiscover/autodiscover.xml"',
        )
        provider = buildRegistry([parseText("test.toml", text)]).providers["hosting"]
        self.assertEqual(
            provider.activeSyncURL, "https://eas.%EMAILDOMAIN%/Microsoft-Server-ActiveSync"
        )
        self.assertEqual(
            provider.autodiscoverURL, "https://mail.hosting.example/autodiscover/autodiscover.xml"
        )

    def test_domainOverride(self) -> None:
        """
        A domain table may set its own ActiveSync URL.
        """
        text = PROVIDER + domainTable('activesync-url = "https://eas.renamed.example/eas"')
        entry = buildRegistry([parseText("test.toml", text)]).lookup("renamed.example")
        assert entry is not None
        self.assertEqual(entry.provider.activeSyncURL, "https://eas.renamed.example/eas")

    def test_percentEncoding(self) -> None:
        """
        A percent-encoded byte is accepted in a URL; a stray C{%} is not.
        """
        self.assertEqual(
            problems(domainTable('activesync-url = "https://eas.example.org/a%2Fb"')), []
        )
        found = problems(domainTable('activesync-url = "https://eas.example.org/a%zz"'))
        self.assertEqual(len(found), 1, found)
        self.assertIn("does not start a placeholder or a percent-encoded byte", found[0])

    def test_writtenBack(self) -> None:
        """
        A provider written back as TOML keeps both URLs.
        """
        text = PROVIDER.replace(
            'domains = ["example.org"]',
            'domains = ["example.org"]\n'
            'activesync-url = "https://eas.%EMAILDOMAIN%/Microsoft-Server-ActiveSync"\n'
            'autodiscover-url = "https://mail.hosting.example/autodiscover/autodiscover.xml"',
        )
        provider = buildRegistry([parseText("test.toml", text)]).providers["hosting"]
        again = buildRegistry(
            [parseText("again.toml", formatProviderFile(provider, ["example.org"]))]
        ).providers["hosting"]
        self.assertEqual(again.activeSyncURL, provider.activeSyncURL)
        self.assertEqual(again.autodiscoverURL, provider.autodiscoverURL)

    def test_invalid(self) -> None:
        """
        Plain http, a URL with spaces, user information or non-ASCII text,
        and per-user placeholders are rejected with the key named.
        """
        for value, reason in (
            ("http://eas.example.org/x", "is not an https URL"),
            ("https://eas.example.org/a b", "is not an https URL"),
            ("https://user@eas.example.org/x", "is not an https URL"),
            ("https://b\u00fccher.example/x", "is not an https URL"),
            (
                "https://eas.example.org/%EMAILLOCALPART%",
                "placeholder %EMAILLOCALPART% is not allowed",
            ),
        ):
            for key in ("activesync-url", "autodiscover-url"):
                with self.subTest(key=key, value=value):
                    found = problems(domainTable(f'{key} = "{value}"'))
                    self.assertEqual(len(found), 1, found)
                    self.assertIn(f'domains."renamed.example".{key}', found[0])
                    self.assertIn(reason, found[0])


class RedirectTests(SynchronousTestCase):
    """
    Tests of C{redirect-address} and C{redirect-url}.
    """

    def test_redirectAddress(self) -> None:
        """
        A redirect address is stored with its domain normalized and its
        local part as written.
        """
        text = PROVIDER + domainTable('redirect-address = "%EMAILLOCALPART%@New.Example"')
        entry = buildRegistry([parseText("test.toml", text)]).lookup("renamed.example")
        assert entry is not None
        self.assertEqual(entry.redirectAddress, "%EMAILLOCALPART%@new.example")

    def test_redirectAddressInvalid(self) -> None:
        """
        Addresses without local part or domain, with other placeholders, or
        pointing back at the same domain are rejected.
        """
        for value, reason in (
            ("new.example", "is not an email address"),
            ("@new.example", "is not an email address"),
            ("a b@new.example", "is not an email address"),
            ("%EMAILADDRESS%@new.example", "placeholder %EMAILADDRESS% is not allowed"),
            ("fred@%EMAILDOMAIN%", "placeholder %EMAILDOMAIN% is not allowed"),
            ("fred@bad..example", "invalid domain"),
            ("%EMAILLOCALPART%@Renamed.Example", "to itself"),
        ):
            with self.subTest(value):
                found = problems(domainTable(f'redirect-address = "{value}"'))
                self.assertEqual(len(found), 1, found)
                self.assertIn('domains."renamed.example".redirect-address', found[0])
                self.assertIn(reason, found[0])

    def test_redirectURL(self) -> None:
        """
        A redirect URL must be https and free of placeholders.
        """
        self.assertEqual(
            problems(
                domainTable(
                    'redirect-url = "https://ad.other.example/autodiscover/autodiscover.xml"'
                )
            ),
            [],
        )
        for value, reason in (
            ("http://ad.other.example/autodiscover/autodiscover.xml", "is not an https URL"),
            ("https://ad.%EMAILDOMAIN%/autodiscover/autodiscover.xml", "without placeholders"),
        ):
            with self.subTest(value):
                found = problems(domainTable(f'redirect-url = "{value}"'))
                self.assertEqual(len(found), 1, found)
                self.assertIn(reason, found[0])

    def test_bothRedirects(self) -> None:
        """
        A domain may not set both redirects.
        """
        found = problems(
            domainTable(
                'redirect-address = "%EMAILLOCALPART%@new.example"\n'
                'redirect-url = "https://ad.other.example/autodiscover/autodiscover.xml"'
            )
        )
        self.assertEqual(len(found), 1, found)
        self.assertIn("not both", found[0])
