"""
The Autoconfig endpoints: C{/mail/config-v1.1.xml} and its C{.well-known}
twin.
"""

from __future__ import annotations

from twisted.logger import Logger
from twisted.web.iweb import IRequest
from twisted.web.resource import Resource

from ..registry.names import InvalidName, normalizeDomain, splitAddress
from ..render.autoconfig import CONTENT_TYPE
from ..snapshot import SnapshotHolder
from .pages import plainText
from .request import BadRequest, queryParameter, requestHost

__all__ = ["AutoconfigResource", "PATHS"]

#: Paths clients request, in the lower case the router compares.
PATHS = (b"/mail/config-v1.1.xml", b"/.well-known/autoconfig/mail/config-v1.1.xml")

#: How long clients and caches may keep a response, in seconds. Short, so a
#: changed configuration reaches clients soon after a reload.
CACHE_SECONDS = 300

_HOST_PREFIXES = ("autoconfig.", "autodiscover.")


def domainFromHost(host: str) -> str:
    """
    Derive the mail domain from a Host header value.

    @raise InvalidName: If what remains is not a domain name.
    """
    for prefix in _HOST_PREFIXES:
        if host.startswith(prefix):
            host = host[len(prefix) :]
            break
    return normalizeDomain(host)


def requestedDomain(request: IRequest) -> str:
    """
    Find the domain a client asks about.

    The domain of C{emailaddress} wins; without that parameter (Thunderbird
    for Android and Geary send none) the Host header names it.

    @raise BadRequest: With a one-line reason.
    """
    address = queryParameter(request, b"emailaddress")
    if address:
        try:
            return splitAddress(address)[1]
        except InvalidName as e:
            raise BadRequest(f"invalid emailaddress: {e}") from None
    host = requestHost(request)
    if host is None:
        raise BadRequest("the request has neither an emailaddress parameter nor a Host header")
    try:
        return domainFromHost(host)
    except InvalidName as e:
        raise BadRequest(f"invalid Host header: {e}") from None


class AutoconfigResource(Resource):
    """
    Serves the prepared C{config-v1.1.xml} of the requested domain.

    A domain that is not in the registry gets 404, whatever the Host, so a
    client never receives another domain's settings.
    """

    isLeaf = True
    log = Logger()

    def __init__(self, holder: SnapshotHolder) -> None:
        super().__init__()
        self._holder = holder

    def render_GET(self, request: IRequest) -> bytes:
        request.protocolName = "autoconfig"  # type: ignore[attr-defined]
        try:
            domain = requestedDomain(request)
        except BadRequest as e:
            return plainText(request, 400, str(e))
        request.mailDomain = domain  # type: ignore[attr-defined]

        template = self._holder.current.autoconfig.get(domain)
        if template is None:
            return plainText(request, 404, f"no mail configuration for {domain}")

        request.setHeader(b"content-type", CONTENT_TYPE)
        request.setHeader(b"cache-control", b"max-age=%d" % (CACHE_SECONDS,))
        request.setHeader(b"access-control-allow-origin", b"*")
        return template.render(domain)

    def render_OPTIONS(self, request: IRequest) -> bytes:
        """
        Respond to a CORS preflight from browser-based setup tools.
        """
        request.protocolName = "autoconfig"  # type: ignore[attr-defined]
        request.setResponseCode(204)
        request.setHeader(b"access-control-allow-origin", b"*")
        request.setHeader(b"access-control-allow-methods", b"GET, HEAD, OPTIONS")
        request.setHeader(b"access-control-max-age", b"86400")
        return b""
