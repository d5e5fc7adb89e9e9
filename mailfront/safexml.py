"""
Parsing of XML files that mailfront did not write itself.

Files given to the importer go through L{parseUntrusted}: no DTD, no entity
expansion, no network access, and a size cap, so a hostile document cannot
make mailfront read local files, fetch URLs or expand entities without
bound. Request bodies use the stricter streaming parser of
L{mailfront.web.xmlbody}, which shares L{EmptyResolver}.
"""

from __future__ import annotations

from typing import Any, Optional

from lxml import etree

__all__ = ["EmptyResolver", "UntrustedXMLError", "parseUntrusted"]


class UntrustedXMLError(ValueError):
    """
    A document that is not well-formed, too large, or uses a DTD.

    The message states what is wrong in words fit for an operator or an HTTP
    error body; L{line} is the line of the problem when it is known.
    """

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


class EmptyResolver(etree.Resolver):
    """
    Resolves every URL (an external DTD, a parameter entity) to empty text.

    With C{load_dtd=False} libxml2 may still open the external subset named
    by a C{<!DOCTYPE>} before the document is rejected for having one; this
    resolver responds in its place, so no local file is ever read.

    @ivar requested: The URLs libxml2 asked for, for tests.
    """

    def __init__(self) -> None:
        super().__init__()
        self.requested: list[Optional[str]] = []

    def resolve(self, url: Optional[str], pubid: Optional[str], context: Any) -> Any:
        self.requested.append(url)
        return self.resolve_string("", context)


def _parser(keepComments: bool, resolver: Optional[etree.Resolver] = None) -> etree.XMLParser:
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=True,
        remove_comments=not keepComments,
        collect_ids=False,
    )
    parser.resolvers.add(resolver if resolver is not None else EmptyResolver())
    return parser


def parseUntrusted(
    data: bytes,
    maxBytes: int,
    keepComments: bool = False,
    resolver: Optional[etree.Resolver] = None,
) -> etree._Element:
    """
    Parse an XML document that may be hostile.

    @param data: The raw document; its encoding declaration is honoured.
    @param maxBytes: The largest document accepted.
    @param keepComments: Whether comments stay in the tree.
    @param resolver: Replaces the L{EmptyResolver}, for tests that record
        which URLs libxml2 requested.
    @return: The root element.
    @raise UntrustedXMLError: If C{data} is larger than C{maxBytes}, is not
        well-formed, or has a document type declaration.
    """
    if len(data) > maxBytes:
        raise UntrustedXMLError(f"the document is larger than {maxBytes} bytes")
    try:
        root = etree.fromstring(data, _parser(keepComments, resolver))
    except etree.XMLSyntaxError as e:
        raise UntrustedXMLError(f"not well-formed XML: {e.msg}", e.lineno) from None
    if root is None:
        raise UntrustedXMLError("the document is empty")
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise UntrustedXMLError(
            "the document has a document type declaration (<!DOCTYPE>), which is "
            "not accepted because it can declare entities",
            1,
        )
    return root
