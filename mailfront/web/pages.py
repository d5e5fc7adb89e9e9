"""
Short plain-text answers for errors, shared by the resources.
"""

from __future__ import annotations

from twisted.web.iweb import IRequest

__all__ = ["plainText"]


def plainText(request: IRequest, code: int, message: str) -> bytes:
    """
    Set a status and a one-line plain-text body.

    The body never echoes request data except what the caller put in
    C{message}, and the media type is C{text/plain}, so no client renders it
    as HTML.
    """
    request.setResponseCode(code)
    request.setHeader(b"content-type", b"text/plain; charset=utf-8")
    request.setHeader(b"x-content-type-options", b"nosniff")
    return (message.rstrip("\n") + "\n").encode("utf-8")
