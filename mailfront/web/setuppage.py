"""
The setup page for people, served at C{/} on the C{autoconfig.} and
C{autodiscover.} host names and at a configurable path on every host.

The person types an address into a GET form, and the response shows the
settings of that address, a link to its Apple profile and a QR code of the
link.
"""

from __future__ import annotations

import re
from typing import Optional
from urllib.parse import quote

from twisted.web.iweb import IRequest
from twisted.web.resource import Resource

from ..registry.model import DomainEntry
from ..registry.names import InvalidName, splitAddress, toUnicode
from ..render.account import Account
from ..render.setuppage import (
    CONTENT_SECURITY_POLICY,
    CONTENT_TYPE,
    AccountSettings,
    renderSetupPage,
)
from ..snapshot import SnapshotHolder
from . import appleprofile
from .autoconfig import domainFromHost
from .pages import plainText
from .request import requestHost

__all__ = ["DEFAULT_PATH", "SETUP_HOST_PREFIXES", "SetupPageResource"]

#: The path that serves the page on every host name.
DEFAULT_PATH = "/setup"

#: Host names whose C{/} serves the page: the names that mail clients
#: already reach for Autoconfig and Autodiscover.
SETUP_HOST_PREFIXES = ("autoconfig.", "autodiscover.")

#: A Host header that is safe to put into the QR code's absolute URL: a host
#: name or bracketed IPv6 address, and an optional port.
_HOST_HEADER = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?$")


class SetupPageResource(Resource):
    """
    Serves the setup page.

    @ivar formAction: The path the page's form submits to: the path this
        resource is routed at.
    @ivar anyHost: Whether every host name gets the page; when C{False},
        hosts that do not start with one of L{SETUP_HOST_PREFIXES} get 404.
    """

    isLeaf = True

    def __init__(self, holder: SnapshotHolder, formAction: str, anyHost: bool) -> None:
        super().__init__()
        self._holder = holder
        self.formAction = formAction
        self.anyHost = anyHost

    def render_GET(self, request: IRequest) -> bytes:
        host = requestHost(request)
        if not self.anyHost and not (host or "").startswith(SETUP_HOST_PREFIXES):
            return plainText(request, 404, "not found")
        request.protocolName = "setup-page"  # type: ignore[attr-defined]

        request.setHeader(b"content-type", CONTENT_TYPE)
        request.setHeader(b"content-security-policy", CONTENT_SECURITY_POLICY)
        request.setHeader(b"x-content-type-options", b"nosniff")
        # The page's URL carries the address in its query string.
        request.setHeader(b"referrer-policy", b"no-referrer")
        request.setHeader(b"cache-control", b"private, no-store")

        brand = self._hostBrand(host)
        try:
            address = _formField(request, b"emailaddress")
        except UnicodeDecodeError:
            request.setResponseCode(400)
            return renderSetupPage(
                brand, self.formAction, notice="The address in the link is garbled. Type it again."
            )
        if not address:
            return renderSetupPage(brand, self.formAction)
        return self._renderAddress(request, brand, address)

    def _renderAddress(self, request: IRequest, brand: Optional[str], address: str) -> bytes:
        try:
            localPart, domain = splitAddress(address.strip())
        except InvalidName as e:
            request.setResponseCode(400)
            notice = f"That is not a valid email address: {e}. Type it as name@example.com."
            return renderSetupPage(brand, self.formAction, address, notice=notice)
        request.mailDomain = domain  # type: ignore[attr-defined]

        entry = self._holder.current.lookup(domain)
        if entry is None:
            request.setResponseCode(404)
            notice = (
                f"There are no settings for {toUnicode(domain)} here. Check the address "
                "for typing mistakes, or ask whoever runs your email for the settings."
            )
            return renderSetupPage(brand, self.formAction, address, notice=notice)

        account = Account(localPart, domain)
        profilePath = (
            appleprofile.PATH.decode("ascii")
            + "?emailaddress="
            + quote(account.address, safe="")
        )
        settings = AccountSettings(
            entry=entry,
            account=account,
            profilePath=profilePath,
            profileURL=_absoluteURL(request, profilePath),
        )
        return renderSetupPage(_brand(entry), self.formAction, address, settings=settings)

    def _hostBrand(self, host: Optional[str]) -> Optional[str]:
        if host is None:
            return None
        try:
            entry = self._holder.current.lookup(domainFromHost(host))
        except InvalidName:
            return None
        return None if entry is None else _brand(entry)


def _formField(request: IRequest, name: bytes) -> Optional[str]:
    """
    Read a field of the page's GET form.

    Browsers encode form fields with C{+} for a space and C{%2B} for a
    C{+}, so the query string is decoded as a form here, unlike the
    Autoconfig and profile URLs that clients build by hand.

    @raise UnicodeDecodeError: If the value is not UTF-8.
    """
    values = request.args.get(name)
    if not values:
        return None
    value: str = values[0].decode("utf-8")
    return value


def _brand(entry: DomainEntry) -> str:
    return entry.provider.displayName or toUnicode(entry.name)


def _absoluteURL(request: IRequest, path: str) -> Optional[str]:
    """
    Build the absolute URL of C{path} on the host and scheme the request used.

    @return: The URL, or C{None} when the Host header is missing or unusable.
    """
    raw: Optional[bytes] = request.getHeader(b"host")
    if raw is None:
        return None
    host = raw.decode("ascii", "replace").strip()
    if not _HOST_HEADER.match(host):
        return None
    scheme = "https" if request.isSecure() else "http"
    return f"{scheme}://{host.lower()}{path}"
