"""
Tests for L{mailfront.safexml}, the parser of files given to the importer.
"""

from __future__ import annotations

import os

from lxml import etree
from twisted.trial.unittest import SynchronousTestCase

from mailfront.safexml import UntrustedXMLError, EmptyResolver, parseUntrusted


class ParseUntrustedTests(SynchronousTestCase):
    """
    Documents with a DTD are rejected without any local file being read.
    """

    def setUp(self) -> None:
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        self.secretPath = os.path.join(directory, "secret.dtd")
        with open(self.secretPath, "w", encoding="utf-8") as f:
            f.write('<!ENTITY leak "SECRET-VALUE">')

    def test_externalDTDNotRead(self) -> None:
        """
        An external DTD naming a local file is resolved to empty text by
        the resolver, so the file's entity never reaches the document, and the
        document is rejected for its DOCTYPE.
        """
        document = (
            f'<!DOCTYPE clientConfig SYSTEM "file://{self.secretPath}">'
            "<clientConfig>&leak;</clientConfig>"
        ).encode()
        resolver = EmptyResolver()

        with self.assertRaises(UntrustedXMLError) as raised:
            parseUntrusted(document, 65536, resolver=resolver)

        self.assertNotIn("SECRET-VALUE", str(raised.exception))
        self.assertEqual(resolver.requested, [f"file://{self.secretPath}"])

    def test_parameterEntityNotRead(self) -> None:
        """
        An external parameter entity is resolved to empty text instead of
        being loaded from disk.
        """
        document = (
            f'<!DOCTYPE c [<!ENTITY % ext SYSTEM "file://{self.secretPath}"> %ext;]>'
            "<c>&leak;</c>"
        ).encode()
        resolver = EmptyResolver()

        with self.assertRaises(UntrustedXMLError) as raised:
            parseUntrusted(document, 65536, resolver=resolver)
        self.assertNotIn("SECRET-VALUE", str(raised.exception))
        self.assertEqual(resolver.requested, [f"file://{self.secretPath}"])

    def test_controlParserWouldRead(self) -> None:
        """
        The file really is readable: a permissive parser expands the entity,
        so the tests above would see it if the guard failed.
        """
        document = (
            f'<!DOCTYPE c [<!ENTITY % ext SYSTEM "file://{self.secretPath}"> %ext;]>'
            "<c>&leak;</c>"
        ).encode()
        permissive = etree.XMLParser(load_dtd=True, resolve_entities=True, no_network=True)
        self.assertEqual(etree.fromstring(document, permissive).text, "SECRET-VALUE")

    def test_plainDocument(self) -> None:
        """
        A document without a DTD parses.
        """
        root = parseUntrusted(b"<clientConfig version='1.1'/>", 1024)
        self.assertEqual(root.get("version"), "1.1")

    def test_tooLarge(self) -> None:
        """
        A document over the size cap is rejected before parsing.
        """
        with self.assertRaises(UntrustedXMLError) as raised:
            parseUntrusted(b"<a/>" * 10, 8)
        self.assertEqual(str(raised.exception), "the document is larger than 8 bytes")
