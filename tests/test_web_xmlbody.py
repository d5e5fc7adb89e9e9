"""
Tests of L{mailfront.web.xmlbody}, the parser of untrusted request bodies.
"""

from __future__ import annotations

import os
import resource
from typing import Any, Optional

from lxml import etree
from twisted.trial.unittest import SynchronousTestCase

from mailfront.web import xmlbody
from mailfront.web.xmlbody import (
    MAX_DEPTH,
    InvalidXML,
    childText,
    findChild,
    localName,
    namespace,
    parseUntrustedXML,
)

from .autodiscoverdata import ENTITY_BOMB, externalEntity


def externalParameterEntity(path: str) -> bytes:
    """
    Build a document whose internal subset pulls in a file through a
    parameter entity.
    """
    return (f'<!DOCTYPE a [<!ENTITY % p SYSTEM "file://{path}"> %p;]><a>&x;</a>').encode()


class _RecordingResolver(xmlbody.EmptyResolver):
    """
    Records every URL libxml2 tries to load, then loads nothing, as the
    production resolver does.
    """

    urls: list[Optional[str]] = []

    def resolve(self, url: Optional[str], pubid: Optional[str], context: Any) -> Any:
        self.urls.append(url)
        return super().resolve(url, pubid, context)


class HostileDocumentTests(SynchronousTestCase):
    """
    Documents built to attack XML parsers are rejected before they do harm.
    """

    def setUp(self) -> None:
        directory = self.mktemp()
        os.makedirs(directory)
        self.secretPath = os.path.abspath(os.path.join(directory, "secret.txt"))
        with open(self.secretPath, "w") as f:
            f.write("leaked-secret@example.org")
        self.dtdPath = os.path.abspath(os.path.join(directory, "entities.dtd"))
        with open(self.dtdPath, "w") as f:
            f.write('<!ENTITY x "leaked-secret">')

        # Record what libxml2 tries to load, in place of the resolver the
        # production parser installs.
        self.resolver = _RecordingResolver()
        self.resolver.urls = []
        self.patch(xmlbody, "EmptyResolver", lambda: self.resolver)

    def test_controlParserLoadsFile(self) -> None:
        """
        The recording resolver records a file load when a parser allows it, so
        the tests below can tell a load from none.
        """
        permissive = etree.XMLParser(
            resolve_entities=True, load_dtd=True, no_network=True, recover=True
        )
        permissive.resolvers.add(self.resolver)
        etree.fromstring(externalEntity(self.secretPath), permissive)
        etree.fromstring(externalParameterEntity(self.dtdPath), permissive)
        self.assertEqual(
            self.resolver.urls, [f"file://{self.secretPath}", f"file://{self.dtdPath}"]
        )

    def test_externalEntityRejected(self) -> None:
        """
        An external entity naming a local file is rejected, and the parser
        never tries to load the file.
        """
        with self.assertRaises(InvalidXML) as caught:
            parseUntrustedXML(externalEntity(self.secretPath))
        self.assertIn("document type", str(caught.exception))
        self.assertNotIn("leaked-secret", str(caught.exception))
        self.assertEqual(self.resolver.urls, [])

    def test_externalParameterEntityRejected(self) -> None:
        """
        A parameter entity that would pull in a file is rejected before the
        parser reads it.
        """
        self.assertRaises(InvalidXML, parseUntrustedXML, externalParameterEntity(self.dtdPath))
        self.assertEqual(self.resolver.urls, [])

    def test_externalDTDRejected(self) -> None:
        """
        An external DTD, by file or by network URL, is never loaded.
        """
        for system in (f"file://{self.dtdPath}", "http://127.0.0.1:9/x.dtd"):
            document = f'<!DOCTYPE a SYSTEM "{system}"><a>&x;</a>'.encode()
            self.assertRaises(InvalidXML, parseUntrustedXML, document)
        self.assertEqual(self.resolver.urls, [])

    def test_entityBombRejected(self) -> None:
        """
        An entity-expansion bomb is rejected without the process growing by
        anything near the expanded size.
        """
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with self.assertRaises(InvalidXML):
            parseUntrustedXML(ENTITY_BOMB)
        grownKiB = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        self.assertLess(grownKiB, 16 * 1024)

    def test_depthLimit(self) -> None:
        """
        Elements nested deeper than the limit are rejected; at the limit
        they are accepted.
        """
        atLimit = b"<a>" * MAX_DEPTH + b"</a>" * MAX_DEPTH
        self.assertEqual(localName(parseUntrustedXML(atLimit)), "a")
        tooDeep = b"<a>" * (MAX_DEPTH + 1) + b"</a>" * (MAX_DEPTH + 1)
        with self.assertRaises(InvalidXML) as caught:
            parseUntrustedXML(tooDeep)
        self.assertIn("nested deeper", str(caught.exception))

    def test_invalidNamespaceURI(self) -> None:
        """
        A namespace name with a space is rejected, and the message does not
        quote it.
        """
        with self.assertRaises(InvalidXML) as caught:
            parseUntrustedXML(b'<a xmlns="fred smith@example.org"/>')
        self.assertNotIn("example.org", str(caught.exception))

    def test_syntaxErrorNotQuoted(self) -> None:
        """
        The message of a syntax error gives the position and never quotes
        the body.
        """
        with self.assertRaises(InvalidXML) as caught:
            parseUntrustedXML(b"<fred.smith>x</fred.smithx>")
        self.assertEqual(str(caught.exception), "not well-formed XML at line 1, column 28")

    def test_undefinedEntity(self) -> None:
        """
        A reference to an entity that is not declared is not well-formed.
        """
        self.assertRaises(InvalidXML, parseUntrustedXML, b"<a>&e;</a>")


class WellFormedInputTests(SynchronousTestCase):
    """
    Valid documents in every form clients send them are read.
    """

    def test_byteOrderMark(self) -> None:
        """
        A UTF-8 byte-order mark before the declaration is accepted.
        """
        root = parseUntrustedXML(b'\xef\xbb\xbf<?xml version="1.0" encoding="utf-8"?><a>x</a>')
        self.assertEqual(root.text, "x")

    def test_encodingDeclaration(self) -> None:
        """
        The declared encoding is used to decode the body.
        """
        root = parseUntrustedXML(b'<?xml version="1.0" encoding="ISO-8859-1"?><a>caf\xe9</a>')
        self.assertEqual(root.text, "caf\u00e9")

    def test_utf16(self) -> None:
        """
        A UTF-16 body with its byte-order mark is accepted.
        """
        root = parseUntrustedXML('<?xml version="1.0" encoding="UTF-16"?><a>z</a>'.encode("utf-16"))
        self.assertEqual(root.text, "z")

    def test_leadingWhitespace(self) -> None:
        """
        A line break before the XML declaration, which XML forbids, is
        tolerated.
        """
        root = parseUntrustedXML(b'\r\n  <?xml version="1.0"?><a>x</a>')
        self.assertEqual(root.text, "x")

    def test_predefinedAndCharacterReferences(self) -> None:
        """
        The five predefined entities and character references are decoded.
        """
        root = parseUntrustedXML(b"<a>&amp;&lt;&gt;&quot;&apos;&#x41;&#66;</a>")
        self.assertEqual(root.text, "&<>\"'AB")

    def test_commentsAndCDATA(self) -> None:
        """
        Comments and processing instructions are dropped and CDATA is text.
        """
        root = parseUntrustedXML(b"<a>f<!-- c -->r<?pi x?><![CDATA[<ed>]]></a>")
        self.assertEqual("".join(root.itertext()), "fr<ed>")

    def test_notWellFormed(self) -> None:
        """
        Truncated, empty and doubled documents are rejected.
        """
        for body in (b"", b"<a>", b"<a/><b/>", b"<a>x</b>", b"not xml"):
            self.assertRaises(InvalidXML, parseUntrustedXML, body)


class LookupTests(SynchronousTestCase):
    """
    Elements are found by local name in any namespace and letter case.
    """

    def test_prefixedNamespace(self) -> None:
        """
        A prefixed element is found by its local name, and its namespace is
        reported.
        """
        root = parseUntrustedXML(
            b'<p:Autodiscover xmlns:p="urn:x"><p:Request><p:EMailAddress> fred@example.org '
            b"</p:EMailAddress></p:Request></p:Autodiscover>"
        )
        self.assertEqual(localName(root), "autodiscover")
        self.assertEqual(namespace(root), "urn:x")
        request = findChild(root, "request")
        assert request is not None
        self.assertEqual(childText(request, "EMAILADDRESS"), "fred@example.org")

    def test_noNamespace(self) -> None:
        """
        An element without namespace has none reported.
        """
        root = parseUntrustedXML(b"<Autodiscover/>")
        self.assertIsNone(namespace(root))

    def test_missingOrEmptyChild(self) -> None:
        """
        A missing child and a child with only whitespace both read as
        C{None}.
        """
        root = parseUntrustedXML(b"<a><b>  </b></a>")
        self.assertIsNone(childText(root, "b"))
        self.assertIsNone(childText(root, "c"))
