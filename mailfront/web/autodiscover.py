"""
The Microsoft Autodiscover endpoints.

C{/autodiscover/autodiscover.xml} takes the POST requests of Outlook,
Thunderbird and ActiveSync devices and responds in the schema each requests.
C{/autodiscover/autodiscover.json} (Autodiscover v2) returns the URLs of the
XML endpoint and the ActiveSync server to Outlook.

Neither endpoint reads the C{Authorization} header that Outlook and
Thunderbird send with the user's password: it is never required, never
answered with a challenge, never logged and never echoed. A served domain
gets the same response for every local part, so responses do not reveal which
mailboxes exist.
"""

from __future__ import annotations

import datetime
import re
from typing import Callable, Optional
from urllib.parse import unquote

import attrs
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.web.iweb import IRequest
from twisted.web.resource import Resource

from ..registry.names import InvalidName, splitAddress
from ..render.autodiscover import (
    CONTENT_TYPE,
    JSON_CONTENT_TYPE,
    MOBILESYNC_REQUEST_NAMESPACE,
    OUTLOOK_REQUEST_NAMESPACE,
    ErrorCode,
    Mailbox,
    Schema,
    activeSyncURL,
    autodiscoverURL,
    renderError,
    renderJSON,
    renderJSONError,
    renderMobileSyncResponse,
    renderOutlookResponse,
    renderPreparedOutlookResponse,
)
from ..snapshot import SnapshotHolder
from .autoconfig import domainFromHost
from .request import BadRequest, queryParameter, requestHost
from .root import MAX_BODY_SIZE
from .xmlbody import InvalidXML, childText, findChild, localName, namespace, parseUntrustedXML

__all__ = [
    "XML_PATH",
    "JSON_PATH",
    "JSON_PREFIX",
    "AutodiscoverRequest",
    "RequestError",
    "readRequest",
    "AutodiscoverResource",
    "AutodiscoverJSONResource",
]

#: Paths of the two endpoints, in the lower case the router compares.
XML_PATH = b"/autodiscover/autodiscover.xml"
JSON_PATH = b"/autodiscover/autodiscover.json"

#: Prefix of the JSON endpoint's path form,
#: C{/autodiscover/autodiscover.json/v1.0/<address>}.
JSON_PREFIX = JSON_PATH + b"/"

#: Response schemas by their namespace URI in lower case.
_RESPONSE_SCHEMAS = {schema.value.lower(): schema for schema in Schema}


@attrs.frozen
class AutodiscoverRequest:
    """
    The content of an Autodiscover POST body.

    @ivar schema: The response schema to respond in.
    @ivar emailAddress: The C{EMailAddress} text, not yet validated.
    """

    schema: Schema
    emailAddress: str


class RequestError(Exception):
    """
    A request rejected with an Autodiscover error document.

    @ivar code: The C{ErrorCode} of the document.
    @ivar schema: The schema of the document's C{Response}; C{None} for the
        root namespace.
    @ivar reason: Why, for the debug log; never contains the address.
    @ivar status: The HTTP status of the response.
    """

    def __init__(
        self, code: ErrorCode, schema: Optional[Schema], reason: str, status: int = 200
    ) -> None:
        super().__init__(reason)
        self.code = code
        self.schema = schema
        self.reason = reason
        self.status = status


def _responseSchema(text: str) -> Optional[Schema]:
    """
    Find the schema named by C{AcceptableResponseSchema}, tolerating case
    and an C{https} scheme, which some Microsoft examples show.
    """
    key = text.strip().lower()
    if key.startswith("https://"):
        key = "http://" + key[len("https://") :]
    return _RESPONSE_SCHEMAS.get(key)


#: The request body as Outlook and Thunderbird send it: an optional XML
#: declaration, then exactly these elements with only whitespace between
#: them, and an address of printable ASCII other than C{&}, C{<} and C{>}.
#: A body of this form contains no DTD, entity, comment or CDATA section, so
#: reading it with this expression gives what the XML parser gives. Every
#: other body goes to the parser.
_PLAIN_OUTLOOK_REQUEST = re.compile(
    rb'\s*(?:<\?xml version="1\.0" encoding="(?:utf-8|UTF-8)"\?>\s*)?'
    rb"<Autodiscover xmlns=\"" + re.escape(OUTLOOK_REQUEST_NAMESPACE.encode("ascii")) + rb"\">\s*"
    rb"<Request>\s*"
    rb"<EMailAddress>([!-%'-;=?-~]+)</EMailAddress>\s*"
    rb"<AcceptableResponseSchema>"
    + re.escape(Schema.OUTLOOK.value.encode("ascii"))
    + rb"</AcceptableResponseSchema>\s*"
    rb"</Request>\s*"
    rb"</Autodiscover>\s*"
)


def _readPlainOutlookRequest(body: bytes) -> Optional[AutodiscoverRequest]:
    """
    Read a body of the form L{_PLAIN_OUTLOOK_REQUEST} without the XML
    parser, which took a fifth of the server's time under load.

    @return: The request, or C{None} when the body has another form.
    """
    match = _PLAIN_OUTLOOK_REQUEST.fullmatch(body)
    if match is None:
        return None
    return AutodiscoverRequest(Schema.OUTLOOK, match.group(1).decode("ascii"))


def readRequest(body: bytes) -> AutodiscoverRequest:
    """
    Read an Autodiscover request body of either request schema.

    Elements are matched by local name, case-insensitively, in any
    namespace and order; unknown elements are ignored. Without
    C{AcceptableResponseSchema}, the request's namespace decides.

    @raise RequestError: If the body is not an Autodiscover request, names
        an unknown response schema, or has no C{EMailAddress}.
    """
    plain = _readPlainOutlookRequest(body)
    if plain is not None:
        return plain
    try:
        root = parseUntrustedXML(body)
    except InvalidXML as e:
        raise RequestError(ErrorCode.INVALID_REQUEST, None, str(e)) from None
    if localName(root) != "autodiscover":
        raise RequestError(ErrorCode.INVALID_REQUEST, None, "the root element is not Autodiscover")
    request = findChild(root, "Request")
    if request is None:
        raise RequestError(ErrorCode.INVALID_REQUEST, None, "no Request element")

    acceptable = childText(request, "AcceptableResponseSchema")
    if acceptable is None:
        isMobileSync = namespace(root) == MOBILESYNC_REQUEST_NAMESPACE
        schema = Schema.MOBILESYNC if isMobileSync else Schema.OUTLOOK
    else:
        found = _responseSchema(acceptable)
        if found is None:
            raise RequestError(
                ErrorCode.PROVIDER_NOT_AVAILABLE, None, "unsupported AcceptableResponseSchema"
            )
        schema = found

    address = childText(request, "EMailAddress")
    if address is None:
        if childText(request, "LegacyDN") is not None:
            # An Exchange directory name, which no registry entry has.
            raise RequestError(
                ErrorCode.ADDRESS_NOT_FOUND, schema, "LegacyDN without EMailAddress", 404
            )
        raise RequestError(ErrorCode.INVALID_REQUEST, schema, "no EMailAddress")
    return AutodiscoverRequest(schema, address)


def _readBody(request: IRequest) -> Optional[bytes]:
    """
    Read the request body.

    @return: The body, or C{None} when it is larger than L{MAX_BODY_SIZE}.
        L{MailfrontSite <mailfront.web.root.MailfrontSite>} rejects such
        bodies before they arrive; this check keeps the resource safe under
        any other Site.
    """
    content = getattr(request, "content", None)
    if content is None:
        return b""
    body: bytes = content.read(MAX_BODY_SIZE + 1)
    return None if len(body) > MAX_BODY_SIZE else body


def _now(clock: IReactorTime) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(clock.seconds(), datetime.timezone.utc)


class AutodiscoverResource(Resource):
    """
    Serves C{/autodiscover/autodiscover.xml}.

      - POST: the response in the requested schema; error documents for bad
        requests (HTTP 200), and HTTP 404 with error 500 for a domain that
        is not served, so the client tries its next candidate.
      - GET or HEAD over plain HTTP: Outlook's redirect step, a 302 to the
        domain's https Autodiscover URL when the Host names a served domain.
      - GET or HEAD over HTTPS: error 600, because settings are only given
        for a POSTed request.
      - Any other method: 405 with error 600.

    Every response that has a body is an Autodiscover document.
    """

    isLeaf = True
    log = Logger()

    def __init__(self, holder: SnapshotHolder, clock: IReactorTime) -> None:
        super().__init__()
        self._holder = holder
        self._clock = clock

    def render(self, request: IRequest) -> bytes:
        request.protocolName = "autodiscover"  # type: ignore[attr-defined]
        handlers: dict[bytes, Callable[[IRequest], bytes]] = {
            b"POST": self._post,
            b"GET": self._get,
            b"HEAD": self._get,
        }
        handler = handlers.get(request.method)
        if handler is None:
            request.setHeader(b"allow", b"GET, HEAD, POST")
            error = RequestError(ErrorCode.INVALID_REQUEST, None, "method not allowed", 405)
            return self._error(request, error)
        try:
            return handler(request)
        except Exception:
            # The boundary that keeps a bug from becoming Twisted's HTML
            # error page: 503 lets the client try its next candidate.
            self.log.failure("Failed to respond to an Autodiscover request")
            return self._error(
                request, RequestError(ErrorCode.INTERNAL_ERROR, None, "internal error", 503)
            )

    def _xml(self, request: IRequest, status: int, body: bytes) -> bytes:
        request.setResponseCode(status)
        request.setHeader(b"content-type", CONTENT_TYPE)
        request.setHeader(b"cache-control", b"no-store")
        request.setHeader(b"x-content-type-options", b"nosniff")
        return body

    def _error(self, request: IRequest, error: RequestError) -> bytes:
        self.log.debug(
            "Autodiscover error {code}: {reason}", code=int(error.code), reason=error.reason
        )
        body = renderError(error.code, error.schema, _now(self._clock))
        return self._xml(request, error.status, body)

    def _post(self, request: IRequest) -> bytes:
        body = _readBody(request)
        if body is None:
            error = RequestError(ErrorCode.INVALID_REQUEST, None, "body too large", 413)
            return self._error(request, error)
        try:
            parsed = readRequest(body)
        except RequestError as e:
            return self._error(request, e)

        try:
            localPart, domain = splitAddress(parsed.emailAddress)
        except InvalidName:
            error = RequestError(ErrorCode.INVALID_REQUEST, parsed.schema, "invalid EMailAddress")
            return self._error(request, error)
        request.mailDomain = domain  # type: ignore[attr-defined]

        snapshot = self._holder.current
        entry = snapshot.lookup(domain)
        if entry is None:
            error = RequestError(
                ErrorCode.ADDRESS_NOT_FOUND, parsed.schema, "domain not served", 404
            )
            return self._error(request, error)

        mailbox = Mailbox(localPart, domain)
        if parsed.schema is Schema.MOBILESYNC:
            document = renderMobileSyncResponse(entry, mailbox, _now(self._clock))
        else:
            document = renderPreparedOutlookResponse(
                entry, mailbox, snapshot.outlookTemplates
            ) or renderOutlookResponse(entry, mailbox, _now(self._clock))
        return self._xml(request, 200, document)

    def _get(self, request: IRequest) -> bytes:
        # TODO: behind a proxy that terminates TLS every request arrives as
        # plain HTTP, so a GET over HTTPS gets the redirect instead of error
        # 600; honouring X-Forwarded-Proto from a trusted proxy would fix it.
        if request.isSecure():
            error = RequestError(ErrorCode.INVALID_REQUEST, None, "GET over HTTPS")
            return self._error(request, error)

        host = requestHost(request)
        if host is None:
            error = RequestError(ErrorCode.INVALID_REQUEST, None, "no Host header", 400)
            return self._error(request, error)
        try:
            domain = domainFromHost(host)
        except InvalidName:
            error = RequestError(ErrorCode.INVALID_REQUEST, None, "invalid Host header", 400)
            return self._error(request, error)

        entry = self._holder.current.lookup(domain)
        if entry is None:
            error = RequestError(ErrorCode.ADDRESS_NOT_FOUND, None, "domain not served", 404)
            return self._error(request, error)
        request.mailDomain = domain  # type: ignore[attr-defined]
        request.setResponseCode(302)
        request.setHeader(b"location", autodiscoverURL(entry).encode("ascii"))
        request.setHeader(b"cache-control", b"no-store")
        return b""


# Autodiscover v2 -------------------------------------------------------------

#: Protocols of C{autodiscover.json}, by their lower-case name, with the
#: spelling of Exchange's responses.
_JSON_PROTOCOLS = {"autodiscoverv1": "AutodiscoverV1", "activesync": "ActiveSync"}

#: Maximum length of the protocol name echoed in an error message.
_MAX_ECHOED_PROTOCOL = 64


class _JSONError(Exception):
    """
    An C{autodiscover.json} request rejected with an error body.
    """

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _invalidProtocol(value: str) -> _JSONError:
    # Exchange's wording; the echoed value is cut to letters and digits, so
    # the message cannot carry markup or an address.
    echoed = "".join(c for c in value if c.isascii() and c.isalnum())[:_MAX_ECHOED_PROTOCOL]
    supported = ",".join(_JSON_PROTOCOLS.values())
    return _JSONError(
        400,
        "InvalidProtocol",
        f"The given protocol value '{echoed}' is invalid. Supported values are '{supported}'",
    )


def _addressFromPath(path: bytes) -> Optional[str]:
    """
    Find the address in the path form
    C{/autodiscover/autodiscover.json/v1.0/<address>}: the first segment after
    C{autodiscover.json} that contains C{@}, percent-decoded.

    @raise BadRequest: If that part of the path is not percent-encoded UTF-8.
    """
    segments = path.split(b"/")
    lowered = [segment.lower() for segment in segments]
    if b"autodiscover.json" not in lowered:
        return None
    after = segments[lowered.index(b"autodiscover.json") + 1 :]
    for segment in after:
        try:
            decoded = unquote(segment.decode("ascii"), errors="strict")
        except UnicodeDecodeError:
            raise BadRequest("the address in the path is not percent-encoded UTF-8") from None
        if "@" in decoded:
            return decoded
    return None


class AutodiscoverJSONResource(Resource):
    """
    Serves C{/autodiscover/autodiscover.json} in both forms Outlook uses:
    C{?Email=<address>&Protocol=<name>} and
    C{/v1.0/<address>?Protocol=<name>}.

    C{Protocol} and the parameter names are matched case-insensitively.
    C{AutodiscoverV1} gets the domain's Autodiscover XML URL and
    C{ActiveSync} its provider's ActiveSync URL. Any other protocol gets 400
    C{InvalidProtocol}; a domain that is not served, or has no ActiveSync,
    gets 404.
    """

    isLeaf = True
    log = Logger()

    def __init__(self, holder: SnapshotHolder) -> None:
        super().__init__()
        self._holder = holder

    def render(self, request: IRequest) -> bytes:
        request.protocolName = "autodiscover-json"  # type: ignore[attr-defined]
        try:
            if request.method not in (b"GET", b"HEAD"):
                request.setHeader(b"allow", b"GET, HEAD")
                raise _JSONError(405, "MethodNotAllowed", "use GET")
            protocol, url = self._protocolURL(request)
        except _JSONError as e:
            return self._json(request, e.status, renderJSONError(e.code, e.message))
        except Exception:
            # The boundary that keeps a bug from becoming Twisted's HTML
            # error page.
            self.log.failure("Failed to respond to an autodiscover.json request")
            body = renderJSONError("InternalServerError", "internal error")
            return self._json(request, 503, body)
        return self._json(request, 200, renderJSON(protocol, url))

    def _json(self, request: IRequest, status: int, body: bytes) -> bytes:
        request.setResponseCode(status)
        request.setHeader(b"content-type", JSON_CONTENT_TYPE)
        request.setHeader(b"x-content-type-options", b"nosniff")
        return body

    def _protocolURL(self, request: IRequest) -> tuple[str, str]:
        """
        Find the protocol and URL of the response.

        @raise _JSONError: For every request that gets no URL.
        """
        try:
            protocolValue = queryParameter(request, b"protocol")
            address = _addressFromPath(request.path) or queryParameter(request, b"email")
        except BadRequest as e:
            raise _JSONError(400, "InvalidRequest", str(e)) from None
        protocol = _JSON_PROTOCOLS.get((protocolValue or "").strip().lower())
        if protocol is None:
            raise _invalidProtocol(protocolValue or "")
        if not address:
            raise _JSONError(400, "InvalidEmailAddress", "the request has no Email parameter")
        try:
            _, domain = splitAddress(address)
        except InvalidName:
            raise _JSONError(
                400, "InvalidEmailAddress", "the Email value is not an email address"
            ) from None
        request.mailDomain = domain  # type: ignore[attr-defined]

        entry = self._holder.current.lookup(domain)
        if entry is None:
            raise _JSONError(404, "DomainNotFound", "no Autodiscover configuration for this domain")
        if protocol == "AutodiscoverV1":
            return protocol, autodiscoverURL(entry)
        url = activeSyncURL(entry.provider, entry.name)
        if url is None:
            raise _JSONError(
                404, "ProtocolNotAvailable", "ActiveSync is not offered for this domain"
            )
        return protocol, url
