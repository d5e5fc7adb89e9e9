"""
HTTP-01 challenge answers for ACME (RFC 8555, section 8.3) at
C{/.well-known/acme-challenge/TOKEN}.
"""

from __future__ import annotations

import re

from twisted.web.iweb import IRequest
from twisted.web.resource import Resource

from ..tls.acmeclient import ChallengeResponses
from .pages import plainText
from .request import requestHost

__all__ = ["AcmeChallengeResource", "PREFIX"]

#: The route prefix, in the normalized form of L{mailfront.web.root}.
PREFIX = b"/.well-known/acme-challenge/"

#: A token is base64url without padding (RFC 8555, section 8.1).
_TOKEN = re.compile(rb"^[A-Za-z0-9_-]+$")


class AcmeChallengeResource(Resource):
    """
    Serves the key authorization of each pending HTTP-01 challenge.

    The token is taken from the request path as sent, because tokens are
    case-sensitive and the router matches the lower-cased path.
    """

    isLeaf = True

    def __init__(self, responses: ChallengeResponses) -> None:
        super().__init__()
        self._responses = responses

    def render_GET(self, request: IRequest) -> bytes:
        request.protocolName = "acme-http-01"  # type: ignore[attr-defined]
        request.mailDomain = requestHost(request)  # type: ignore[attr-defined]
        token = request.path.rstrip(b"/").rsplit(b"/", 1)[-1]
        if not _TOKEN.match(token):
            return plainText(request, 404, "not an ACME challenge token")
        keyAuthorization = self._responses.get(token.decode("ascii"))
        if keyAuthorization is None:
            return plainText(request, 404, "no pending ACME challenge has this token")
        request.setHeader(b"content-type", b"application/octet-stream")
        return keyAuthorization.encode("ascii")

    render_HEAD = render_GET
