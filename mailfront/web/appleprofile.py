"""
The Apple profile download: C{GET /apple/mail.mobileconfig?emailaddress=...}.

The address travels in the query string, never in the path, because the
access log records paths and never query strings.
"""

from __future__ import annotations

from typing import Callable, Optional

from twisted.logger import Logger
from twisted.web.iweb import IRequest
from twisted.web.resource import Resource

from ..registry.names import InvalidName, splitAddress
from ..render.appleprofile import (
    CONTENT_TYPE,
    ProfileSigner,
    ProfileUnavailable,
    UnsupportedAddress,
    downloadFileName,
    renderProfile,
    signProfile,
)
from ..snapshot import SnapshotHolder
from .pages import plainText
from .request import BadRequest, queryParameter, requestHost

__all__ = ["AppleProfileResource", "PATH", "SignerChooser"]

#: Path of the download, in the lower case the router compares.
PATH = b"/apple/mail.mobileconfig"

#: Chooses the signer of a profile from the request's host name; returns
#: C{None} to serve the profile unsigned.
SignerChooser = Callable[[Optional[str]], Optional[ProfileSigner]]


class AppleProfileResource(Resource):
    """
    Serves the signed configuration profile of the address in the
    C{emailaddress} query parameter.

    A missing or invalid address gets 400, a domain that is not in the
    registry (or has nothing an Apple device can set up) gets 404.
    """

    isLeaf = True
    log = Logger()

    def __init__(self, holder: SnapshotHolder, signerFor: SignerChooser) -> None:
        super().__init__()
        self._holder = holder
        self._signerFor = signerFor
        self._warnedUnsigned = False

    def render_GET(self, request: IRequest) -> bytes:
        request.protocolName = "apple-profile"  # type: ignore[attr-defined]
        try:
            address = queryParameter(request, b"emailaddress")
        except BadRequest as e:
            return plainText(request, 400, str(e))
        if not address:
            return plainText(
                request,
                400,
                "missing emailaddress parameter, such as ?emailaddress=fred%40example.com",
            )
        try:
            localPart, domain = splitAddress(address)
        except InvalidName as e:
            return plainText(request, 400, f"invalid emailaddress: {e}")
        request.mailDomain = domain  # type: ignore[attr-defined]

        entry = self._holder.current.lookup(domain)
        if entry is None:
            return plainText(request, 404, f"no mail configuration for {domain}")
        try:
            profile = renderProfile(entry, localPart)
        except UnsupportedAddress as e:
            return plainText(request, 400, f"invalid emailaddress: {e}")
        except ProfileUnavailable:
            return plainText(request, 404, f"no settings for Apple devices for {domain}")

        body = self._sign(profile, requestHost(request), domain)
        request.setHeader(b"content-type", CONTENT_TYPE)
        disposition = f'attachment; filename="{downloadFileName(domain)}"'
        request.setHeader(b"content-disposition", disposition.encode("ascii"))
        # The profile names the person's address: keep it out of shared caches.
        request.setHeader(b"cache-control", b"private, no-store")
        request.setHeader(b"x-content-type-options", b"nosniff")
        return body

    def _sign(self, profile: bytes, host: Optional[str], domain: str) -> bytes:
        signer = self._signerFor(host)
        if signer is not None:
            return signProfile(profile, signer)
        if not self._warnedUnsigned:
            self._warnedUnsigned = True
            self.log.warn(
                "Serving Apple profiles unsigned (first for {domain}): no signing or "
                "HTTPS certificate is available, so devices show them as unsigned. "
                "Configure --profile-signing-certificate and --profile-signing-key.",
                domain=domain,
            )
        return profile
