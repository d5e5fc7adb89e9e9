"""
The root resource: one table of routes for every protocol, and the Site.
"""

from __future__ import annotations

import re
from io import BytesIO
from typing import Any, Mapping, Optional, Protocol, Sequence

from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.iweb import IRequest
from twisted.web.resource import IResource, Resource
from twisted.web.server import NOT_DONE_YET, Request, Site

from ..redact import redactAddresses
from .pages import plainText

__all__ = [
    "MAX_BODY_SIZE",
    "REQUEST_TIMEOUT",
    "RootResource",
    "MailfrontRequest",
    "MailfrontSite",
    "RequestObserver",
    "normalizePath",
]

#: Largest request body accepted, in bytes. Autodiscover requests of Outlook
#: and Thunderbird are under 1 KiB, and no other endpoint takes a body.
MAX_BODY_SIZE = 8192

#: Seconds a client has to send a whole request, from the end of its request
#: line to the last byte of its body. Clients give up on discovery requests
#: after 5 to 10 seconds themselves, so a slower request is not a client
#: waiting for a response.
REQUEST_TIMEOUT = 10.0

#: Access log events, in their own namespace so operators can route them.
accessLog = Logger(namespace="mailfront.access")

_SLASHES = re.compile(rb"/{2,}")


def normalizePath(path: bytes) -> bytes:
    """
    Reduce a request path to the form routes are registered in.

    Clients capitalize paths in several ways (C{/AutoDiscover/AutoDiscover.xml})
    and some add a trailing slash or a doubled one, so the path is lower-cased,
    runs of slashes are collapsed, and a trailing slash is removed.
    """
    path = _SLASHES.sub(b"/", path.lower())
    if len(path) > 1 and path.endswith(b"/"):
        path = path[:-1]
    return path


class RootResource(Resource):
    """
    Dispatches every request by its normalized path.

    @ivar routes: Resources by exact normalized path.
    @ivar prefixes: C{(prefix, resource)} pairs tried in order when no exact
        route matches; C{prefix} ends with C{/}.
    """

    isLeaf = True

    def __init__(
        self,
        routes: Mapping[bytes, IResource],
        prefixes: Sequence[tuple[bytes, IResource]] = (),
    ) -> None:
        super().__init__()
        self.routes = dict(routes)
        self.prefixes = tuple(prefixes)

    def route(self, request: IRequest) -> Optional[IResource]:
        """
        Find the resource for a request, or C{None}.
        """
        path = normalizePath(request.path)
        resource = self.routes.get(path)
        if resource is not None:
            return resource
        for prefix, candidate in self.prefixes:
            if (path + b"/").startswith(prefix):
                return candidate
        return None

    def render(self, request: IRequest) -> bytes:
        resource = self.route(request)
        if resource is None:
            return plainText(request, 404, "not found")
        result: bytes = resource.render(request)
        if request.method == b"HEAD" and result is not NOT_DONE_YET:
            # Twisted's Request drops a HEAD body itself, but first logs a
            # warning that contains the request's repr, and so its query
            # string with the user's email address. Responding with the GET
            # length and no body avoids that warning.
            request.setHeader(b"content-length", b"%d" % (len(result),))
            return b""
        return result


class MailfrontRequest(Request):
    """
    A request that limits its body before any resource reads it.

    A body larger than the site's C{maxBodySize} gets a 413 response as soon
    as its size is known: at once when C{Content-Length} announces it, or
    when a chunked body grows past the limit. A request that is not complete
    within the site's C{requestTimeout} gets a 408 response. Both close the
    connection and never reach a resource. The body is kept in memory, which
    the size limit makes safe.
    """

    _log = Logger()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._bodySize = 0
        self._rejected = False
        site: MailfrontSite = self.channel.site  # type: ignore[attr-defined]
        self._maxBodySize = site.maxBodySize
        self._requestTimeout = site.requestTimeout
        self._deadline: Optional[IDelayedCall] = site.reactor.callLater(
            self._requestTimeout, self._timedOut
        )

    def _cancelDeadline(self) -> None:
        if self._deadline is not None and self._deadline.active():
            self._deadline.cancel()
        self._deadline = None

    def _reject(self, status: bytes, message: bytes) -> None:
        """
        Send a bare status response and close the connection, before the
        request is complete.

        The response is written to the transport directly, as Twisted does
        for malformed requests, because the request line is not yet known to
        the request object.
        """
        self._rejected = True
        self._cancelDeadline()
        self.content = BytesIO()  # type: ignore[assignment]
        # No 100 Continue may follow this response.
        self.requestHeaders.removeHeader(b"expect")
        body = message + b"\n"
        self.channel.write(
            b"HTTP/1.1 " + status + b"\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\n"
            b"Content-Length: %d\r\n"
            b"Connection: close\r\n\r\n" % (len(body),) + body
        )
        self.channel.loseConnection()

    def _timedOut(self) -> None:
        self._deadline = None
        client = self.getClientAddress()
        self._log.info(
            "Dropped a request from {client} that was not complete within {timeout} s",
            client=getattr(client, "host", None),
            timeout=self._requestTimeout,
        )
        self._reject(b"408 Request Timeout", b"the request was not complete in time")

    def _tooLarge(self) -> None:
        client = self.getClientAddress()
        self._log.info(
            "Rejected a request body from {client} over the limit of {limit} bytes",
            client=getattr(client, "host", None),
            limit=self._maxBodySize,
        )
        self._reject(
            b"413 Content Too Large",
            b"the request body is larger than %d bytes" % (self._maxBodySize,),
        )

    def gotLength(self, length: Optional[int]) -> None:
        self.content = BytesIO()  # type: ignore[assignment]
        if length is not None and length > self._maxBodySize:
            self._tooLarge()

    def handleContentChunk(self, data: bytes) -> None:
        if self._rejected:
            return
        self._bodySize += len(data)
        if self._bodySize > self._maxBodySize:
            self._tooLarge()
            return
        self.content.write(data)  # type: ignore[attr-defined]

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        if self._rejected:
            return
        self._cancelDeadline()
        super().requestReceived(command, path, version)

    def connectionLost(self, reason: Failure) -> None:
        self._cancelDeadline()
        super().connectionLost(reason)


class RequestObserver(Protocol):
    """
    An observer of every finished request, such as request metrics.
    """

    def requestFinished(self, protocol: Optional[str], status: int, duration: float) -> None:
        """
        Count one finished request.

        @param protocol: The protocol the resource set, or C{None} when no
            resource claimed the request.
        @param status: The HTTP status code sent.
        @param duration: Seconds from routing the request to finishing it.
        """


class MailfrontSite(Site):
    """
    A Site whose access log carries no query strings or credentials, and
    whose requests are limited in size and time.

    Twisted's default access log writes the full request line, and the query
    of an Autoconfig request contains the user's email address. This Site
    logs the path (with the local part of any address in it replaced by
    C{*}), the domain the resource found, the status and the duration
    instead, as one structured event per request.

    POST bodies are never parsed as forms: no endpoint takes a form, and
    parsing every body's content type costs throughput.

    @ivar maxBodySize: Largest request body accepted, in bytes.
    @ivar requestTimeout: Seconds a client has to send a whole request.
    @ivar requestObserver: Observer of every finished request, or C{None}.
    """

    maxBodySize = MAX_BODY_SIZE
    requestTimeout = REQUEST_TIMEOUT

    def __init__(
        self,
        resource: IResource,
        reactor: IReactorTime,
        requestObserver: Optional[RequestObserver] = None,
    ) -> None:
        super().__init__(
            resource,
            requestFactory=MailfrontRequest,
            reactor=reactor,
            parsePOSTFormSubmission=False,
        )
        self._clock = reactor
        self.requestObserver = requestObserver

    def getResourceFor(self, request: IRequest) -> IResource:
        request.startedAt = self._clock.seconds()  # type: ignore[attr-defined]
        resource: IResource = super().getResourceFor(request)
        return resource

    def log(self, request: IRequest) -> None:  # type: ignore[override]
        started = getattr(request, "startedAt", None)
        duration = 0.0 if started is None else self._clock.seconds() - started
        protocol = getattr(request, "protocolName", None)
        status: int = request.code  # type: ignore[attr-defined]
        if self.requestObserver is not None:
            self.requestObserver.requestFinished(protocol, status, duration)

        method = _text(request.method)
        path = redactAddresses(_text(request.path))
        domain = getattr(request, "mailDomain", None)
        client = getattr(request.getClientAddress(), "host", None)
        # A log observer formats each field of the format string separately
        # through string.Formatter, which is slow. So the line is formatted
        # here once with % and passed as one field. The other fields stay in
        # the event for JSON output.
        summary = "%s %s %d protocol=%s domain=%s client=%s duration=%.6f" % (
            method, path, status, protocol, domain, client, duration,
        )
        accessLog.info(
            "{summary}",
            summary=summary,
            method=method,
            path=path,
            status=status,
            protocol=protocol,
            domain=domain,
            client=client,
            duration=duration,
        )


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace")
