"""
The one parser for XML that arrives in request bodies.

Request bodies come from anyone on the network, so the parser is hardened
against the known XML attacks:

  - A document type declaration is rejected the moment the parser reaches
    it, before libxml2 reads its internal subset. No entity is ever
    declared, so nothing can expand (billion laughs) and no external entity
    or DTD can be loaded (XXE).
  - Entity substitution, DTD loading and network access are off, and every
    URL libxml2 might still try to load resolves to empty text, so no file
    or host is read even if a future libxml2 tries.
  - libxml2's C{huge_tree} limits stay on, and the element depth has its
    own, lower limit.

The caller caps the body size before calling L{parseUntrustedXML}. Elements
are found by local name, case-insensitively, so prefixed, namespaced and
differently capitalised requests all work.
"""

from __future__ import annotations

from typing import Iterator, Optional

from lxml import etree

from ..safexml import EmptyResolver

__all__ = [
    "MAX_DEPTH",
    "InvalidXML",
    "parseUntrustedXML",
    "localName",
    "namespace",
    "children",
    "findChild",
    "childText",
]

#: Deepest element nesting accepted. Autodiscover requests nest three
#: levels; the margin is for clients that wrap the request in more elements.
MAX_DEPTH = 32

#: Bytes that may precede the document and are removed before parsing. Some
#: clients send a line break before the XML declaration, which XML does not
#: allow.
_LEADING_WHITESPACE = b" \t\r\n"


class InvalidXML(ValueError):
    """
    A body that is not a well-formed XML document, or that uses a feature
    this parser rejects. The message names which, for logs; it never contains
    the body.
    """


class _RejectedFeature(Exception):
    """
    Raised inside the parser target to stop libxml2 at once.
    """


class _GuardedTreeBuilder:
    """
    A parser target that builds the tree and stops at a DTD or deep nesting.

    @ivar rejected: Why the document was rejected, or C{None}.
    """

    def __init__(self) -> None:
        self._builder = etree.TreeBuilder()
        self._depth = 0
        self.rejected: Optional[str] = None

    def _reject(self, reason: str) -> None:
        self.rejected = reason
        raise _RejectedFeature(reason)

    def doctype(self, name: Optional[str], pubid: Optional[str], system: Optional[str]) -> None:
        self._reject("document type declarations are not accepted")

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            self._reject(f"elements are nested deeper than {MAX_DEPTH} levels")
        self._builder.start(tag, attrib)

    def end(self, tag: str) -> None:
        self._depth -= 1
        self._builder.end(tag)

    def data(self, text: str) -> None:
        self._builder.data(text)

    def close(self) -> Optional[etree._Element]:
        # lxml calls close() after a target method raised, too; the first
        # reason is the one worth reporting.
        if self.rejected is not None:
            raise _RejectedFeature(self.rejected)
        try:
            root: Optional[etree._Element] = self._builder.close()
        except etree.XMLSyntaxError:
            # The tree is incomplete because libxml2 stopped at an error;
            # returning nothing lets lxml raise that error instead.
            return None
        return root


def _newParser(target: _GuardedTreeBuilder) -> etree.XMLParser:
    parser = etree.XMLParser(
        target=target,
        resolve_entities=False,
        load_dtd=False,
        dtd_validation=False,
        attribute_defaults=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )
    parser.resolvers.add(EmptyResolver())
    return parser


def parseUntrustedXML(body: bytes) -> etree._Element:
    """
    Parse a request body into an element tree.

    The body's own encoding declaration and byte-order mark are honoured;
    comments and processing instructions are dropped.

    @param body: The complete body, already checked against a size limit.
    @return: The root element.
    @raise InvalidXML: If the body is not well-formed, declares a document
        type, has a namespace name that is not a URI, or nests elements
        deeper than L{MAX_DEPTH}.
    """
    target = _GuardedTreeBuilder()
    parser = _newParser(target)
    try:
        root: etree._Element = etree.fromstring(body.lstrip(_LEADING_WHITESPACE), parser)
    except _RejectedFeature as e:
        raise InvalidXML(str(e)) from None
    except etree.XMLSyntaxError as e:
        # libxml2's message can quote the body, which may hold an address,
        # so only the position is kept.
        line, column = e.position
        raise InvalidXML(f"not well-formed XML at line {line}, column {column}") from None
    except ValueError:
        # lxml's tree builder rejects namespace URIs that are not URIs, such
        # as one with a space, which libxml2 only warns about.
        raise InvalidXML("invalid namespace URI") from None
    if target.rejected is not None:
        raise InvalidXML(target.rejected)
    return root


def localName(element: etree._Element) -> str:
    """
    Return an element's name without namespace, in lower case.
    """
    return etree.QName(element).localname.lower()


def namespace(element: etree._Element) -> Optional[str]:
    """
    Return an element's namespace URI, or C{None} when it has none.
    """
    uri: Optional[str] = etree.QName(element).namespace
    return uri


def children(element: etree._Element, name: str) -> Iterator[etree._Element]:
    """
    Iterate over the child elements whose local name is C{name}, compared
    case-insensitively.
    """
    expected = name.lower()
    for child in element:
        if isinstance(child.tag, str) and localName(child) == expected:
            yield child


def findChild(element: etree._Element, name: str) -> Optional[etree._Element]:
    """
    Find the first child element whose local name is C{name}, compared
    case-insensitively.
    """
    return next(children(element, name), None)


def childText(element: etree._Element, name: str) -> Optional[str]:
    """
    Read the text of the first child named C{name}, without surrounding
    whitespace.

    @return: The text, including the text of nested elements; C{None} when
        there is no such child or its text is empty.
    """
    child = findChild(element, name)
    if child is None:
        return None
    text = "".join(child.itertext()).strip()
    return text or None
