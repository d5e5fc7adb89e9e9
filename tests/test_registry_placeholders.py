"""
Tests for the placeholder rules of L{mailfront.registry.parse}: every C{%}
in a template starts a placeholder, and in a URL it may also start a
percent-encoded byte.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from mailfront.registry import parseText

_TEMPLATE = """
[providers.hosting]
domains = ["example.com"]

[[providers.hosting.incoming]]
type = "imap"
hostname = "{hostname}"
port = 993
socket-type = "SSL"
authentication = ["password-cleartext"]
username = "{username}"

[[providers.hosting.outgoing]]
type = "smtp"
hostname = "smtp.example.net"
port = 465
socket-type = "SSL"
authentication = ["password-cleartext"]
username = "%EMAILADDRESS%"

[[providers.hosting.documentation]]
url = "{url}"
"""


def _errors(
    username: str = "%EMAILADDRESS%",
    hostname: str = "imap.example.net",
    url: str = "https://help.example.net/",
) -> list[str]:
    text = _TEMPLATE.format(username=username, hostname=hostname, url=url)
    return [str(error) for error in parseText("hosting.toml", text).errors]


class PlaceholderTests(SynchronousTestCase):
    """
    Templates contain only the three placeholders clients replace.
    """

    def test_validTemplates(self) -> None:
        """
        Placeholders, alone or combined with text, are accepted in user
        names, host names and URLs.
        """
        self.assertEqual(_errors(username="%EMAILLOCALPART%.%EMAILDOMAIN%"), [])
        self.assertEqual(_errors(hostname="mail.%EMAILDOMAIN%"), [])
        self.assertEqual(_errors(url="https://help.example.net/?d=%EMAILDOMAIN%"), [])

    def test_unterminatedPlaceholder(self) -> None:
        """
        A placeholder without its closing C{%} is rejected with the spelling
        to write, because clients would send it as a literal login name.
        """
        self.assertEqual(
            _errors(username="%EMAILADDRESS"),
            [
                "hosting.toml: providers.hosting.incoming[0].username: placeholder "
                "%EMAILADDRESS in '%EMAILADDRESS' has no closing '%'; write %EMAILADDRESS%"
            ],
        )

    def test_strayPercent(self) -> None:
        """
        A C{%} that starts no placeholder is rejected in a user name and in
        a host name.
        """
        [username] = _errors(username="user%")
        self.assertIn(
            "username: the '%' at offset 4 of 'user%' does not start a placeholder", username
        )
        [hostname] = _errors(hostname="imap%.example.net")
        self.assertIn("hostname: the '%' at offset 4", hostname)

    def test_unknownPlaceholder(self) -> None:
        """
        A C{%NAME%} that clients do not know is rejected with the known ones.
        """
        [error] = _errors(username="%USERNAME%")
        self.assertIn("unknown placeholder %USERNAME% in '%USERNAME%'; use one of", error)

    def test_percentEncodingInURL(self) -> None:
        """
        A URL may contain percent-encoded bytes, next to placeholders.
        """
        url = "https://faq.example.jp/CEK%E3%81%AE%E3%83%A1?d=%EMAILDOMAIN%&x=%28a%29"
        self.assertEqual(_errors(url=url), [])

    def test_invalidPercentInURL(self) -> None:
        """
        A C{%} in a URL that starts neither a placeholder nor a
        percent-encoded byte is rejected.
        """
        [error] = _errors(url="https://help.example.net/100%")
        self.assertIn("does not start a placeholder or a percent-encoded byte such as %2F", error)

    def test_percentEncodingNotInUsername(self) -> None:
        """
        Percent-encoding means nothing in a user name, so C{%41} there is
        rejected rather than sent to the server as three characters.
        """
        [error] = _errors(username="%41bc")
        self.assertIn("does not start a placeholder", error)
