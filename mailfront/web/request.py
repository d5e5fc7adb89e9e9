"""
Reading the parts of an HTTP request that discovery clients send.
"""

from __future__ import annotations

from typing import Optional
from urllib.parse import unquote_to_bytes

from twisted.web.iweb import IRequest

__all__ = ["queryParameter", "requestHost", "BadRequest"]


class BadRequest(ValueError):
    """
    A request that cannot be served. The message is the one-line reason
    sent to the client.
    """


def queryParameter(request: IRequest, name: bytes) -> Optional[str]:
    """
    Read one query parameter, percent-decoding it only.

    Twisted's C{request.args} turns C{+} into a space, which breaks
    addresses such as C{fred+lists@example.org} that some clients send
    unencoded, so the raw query string is split here instead. The name
    matches case-insensitively and the first occurrence wins.

    @return: The decoded value, or C{None} if the parameter is absent.
    @raise BadRequest: If the value is not valid percent-encoded UTF-8.
    """
    uri: bytes = request.uri
    _, question, query = uri.partition(b"?")
    if not question:
        return None
    wanted = name.lower()
    for pair in query.split(b"&"):
        key, _, value = pair.partition(b"=")
        if key.lower() != wanted:
            continue
        # Unquoting the bytes is about twice as fast as urllib.parse.unquote
        # on text, and every Autoconfig request has an escaped "@".
        if value.isascii():
            try:
                return unquote_to_bytes(value).decode("utf-8")
            except UnicodeDecodeError:
                pass
        raise BadRequest(f"the {name.decode()} parameter is not valid percent-encoded UTF-8")
    return None


def requestHost(request: IRequest) -> Optional[str]:
    """
    Read the Host header without port and trailing dot, in lower case.

    @return: The host name, or C{None} when the request has no Host header
        (HTTP/1.0) or it is not text.
    """
    raw: Optional[bytes] = request.getHeader(b"host")
    if not raw:
        return None
    try:
        host = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        return None
    if host.startswith("["):
        # An IPv6 literal such as [::1]:8443.
        host = host[1 : host.find("]")] if "]" in host else host
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    return host.rstrip(".").lower() or None
