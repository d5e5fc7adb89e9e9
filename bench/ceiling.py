"""
The ceiling: the fastest answer twisted.web gives for a request of the same
shape as mailfront's.

A leaf resource returns one fixed document, with the same media type and
size as mailfront's answer of the scenario, to GET and to POST. The Site is
Twisted's own, with its default access log (one line per request to the
twistd log) and with C{parsePOSTFormSubmission} off, so a POST body is not
parsed as a form. C{bench/ceiling.tac} runs it under twistd, as mailfront
runs.
"""

from __future__ import annotations

from twisted.web.resource import Resource
from twisted.web.server import Request, Site

__all__ = ["FixedDocument", "makeCeilingSite"]


class FixedDocument(Resource):
    """
    Answers every GET and POST with the same document.
    """

    isLeaf = True

    def __init__(self, body: bytes, contentType: bytes) -> None:
        super().__init__()
        self._body = body
        self._contentType = contentType

    def render_GET(self, request: Request) -> bytes:
        request.setHeader(b"content-type", self._contentType)
        return self._body

    render_POST = render_GET


def makeCeilingSite(body: bytes, contentType: bytes) -> Site:
    """
    Build the ceiling's Site for one document.
    """
    return Site(FixedDocument(body, contentType), parsePOSTFormSubmission=False)
