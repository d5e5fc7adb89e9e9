"""
Tests for L{mailfront.registry.emit}: registry records written as TOML.
"""

from __future__ import annotations

import tomllib

import attrs
from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from mailfront.registry import (
    Authentication,
    Description,
    Documentation,
    Provider,
    Server,
    parseText,
)
from mailfront.registry.emit import formatKey, formatProviderFile, formatString

from .test_importer_reader import COMPLETE_PROVIDER

_SMTP = Server(
    type="smtp",
    hostname="smtp.example.net",
    port=587,
    socketType="STARTTLS",
    authentication=(Authentication("password-cleartext"),),
    username="%EMAILADDRESS%",
)

#: A provider that uses every field of the format, with strings that need
#: escaping.
_FULL = attrs.evolve(
    COMPLETE_PROVIDER,
    id="full.example",
    source="",
    displayName='Full "Quoted" \\ Mail',
    documentation=(
        Documentation(
            "https://help.example.net/a%20b",
            (Description("Help\nwith a line break", "en"), Description("Hilfe für alle", "de")),
        ),
        Documentation("https://help.example.net/bare"),
    ),
    oauth2=attrs.evolve(COMPLETE_PROVIDER.oauth2, clientSecret="secret"),
    activeSyncURL="https://owa.example.net/Microsoft-Server-ActiveSync",
)


def _readBack(text: str, path: str = "emitted.toml") -> Provider:
    document = parseText(path, text)
    if document.errors:
        raise AssertionError("\n".join(str(error) for error in document.errors) + "\n" + text)
    [provider] = document.providers
    return provider


class FormatStringTests(SynchronousTestCase):
    """
    Strings and keys are quoted so that any TOML reader gets them back.
    """

    def test_escapes(self) -> None:
        """
        Quotes, backslashes and control characters are escaped; other
        characters, non-ASCII ones included, are written as they are.
        """
        cases = [
            ("plain", '"plain"'),
            ('say "hi"', '"say \\"hi\\""'),
            ("C:\\mail", '"C:\\\\mail"'),
            ("a\tb\nc\rd", '"a\\tb\\nc\\rd"'),
            ("bell\x07", '"bell\\u0007"'),
            ("delete\x7f", '"delete\\u007F"'),
            ("Bücher — 書籍", '"Bücher — 書籍"'),
        ]
        for text, expected in cases:
            self.assertEqual(formatString(text), expected)

    @given(st.text())
    def test_anyStringReadsBack(self, text: str) -> None:
        """
        Python's own TOML reader returns every string exactly as given.
        """
        self.assertEqual(tomllib.loads(f"key = {formatString(text)}")["key"], text)

    @given(st.text(min_size=1))
    def test_anyKeyReadsBack(self, name: str) -> None:
        """
        Any table name, including ones with dots and spaces, is read back
        as one key rather than as nested tables.
        """
        document = tomllib.loads(f"[providers.{formatKey(name)}]\nx = 1\n")
        self.assertEqual(document, {"providers": {name: {"x": 1}}})

    def test_bareKeys(self) -> None:
        """
        Keys made of letters, digits, C{-} and C{_} stay bare; a dotted id is
        quoted.
        """
        self.assertEqual(formatKey("example-hosting_2"), "example-hosting_2")
        self.assertEqual(formatKey("zoho.com"), '"zoho.com"')


class FormatProviderFileTests(SynchronousTestCase):
    """
    A provider written by L{formatProviderFile} is read back by the
    registry's parser as the same record.
    """

    def test_everyFieldReadsBack(self) -> None:
        """
        A provider that sets every field of the format comes back unchanged,
        servers and authentication methods in their order.
        """
        text = formatProviderFile(_FULL, ["full.example", "xn--bcher-kva.example"])
        provider = _readBack(text, _FULL.source)
        self.assertEqual(provider, _FULL)

    def test_domains(self) -> None:
        """
        The C{domains} array lists every domain in order, so the registry
        serves each of them.
        """
        text = formatProviderFile(_FULL, ["full.example", "xn--bcher-kva.example"])
        document = parseText("full.toml", text)
        self.assertEqual(
            [claim.name for claim in document.claims],
            ["full.example", "xn--bcher-kva.example"],
        )

    def test_layout(self) -> None:
        """
        The file reads like a hand-written one: the comment block, the
        provider table with its domains, then one table per server.
        """
        provider = Provider(
            id="small",
            displayName="Small Mail",
            incoming=(
                Server(
                    type="imap",
                    hostname="imap.small.example",
                    port=993,
                    socketType="SSL",
                    authentication=(Authentication("password-cleartext"),),
                    username="%EMAILADDRESS%",
                ),
            ),
            outgoing=(_SMTP,),
        )
        text = formatProviderFile(provider, ["small.example"], ["Imported.", "Second line"])
        self.assertEqual(
            text,
            "# Imported.\n"
            "# Second line\n"
            "\n"
            "[providers.small]\n"
            'display-name = "Small Mail"\n'
            'domains = ["small.example"]\n'
            "\n"
            "[[providers.small.incoming]]\n"
            'type = "imap"\n'
            'hostname = "imap.small.example"\n'
            "port = 993\n"
            'socket-type = "SSL"\n'
            'authentication = ["password-cleartext"]\n'
            'username = "%EMAILADDRESS%"\n'
            "\n"
            "[[providers.small.outgoing]]\n"
            'type = "smtp"\n'
            'hostname = "smtp.example.net"\n'
            "port = 587\n"
            'socket-type = "STARTTLS"\n'
            'authentication = ["password-cleartext"]\n'
            'username = "%EMAILADDRESS%"\n',
        )

    def test_commentsCannotBreakOut(self) -> None:
        """
        A comment line with a line break or other control characters stays
        one comment: the text after the break does not become TOML.
        """
        text = formatProviderFile(_FULL, ["full.example"], ['first\n[providers.evil]\nx = "y"\x00'])
        self.assertEqual(_readBack(text, _FULL.source), _FULL)
        self.assertEqual(set(tomllib.loads(text)["providers"]), {"full.example"})
