"""
The root resource: one table of routes for every protocol, and the Site.
"""

from __future__ import annotations

import re
from typing import Mapping, Optional, Protocol, Sequence

from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.web.iweb import IRequest
from twisted.web.resource import IResource, Resource
from twisted.web.server import NOT_DONE_YET, Site

from ..redact import redactAddresses
from .pages import plainText

__all__ = ["RootResource", "MailfrontSite", "RequestObserver", "normalizePath"]

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
    A Site whose access log carries no query strings or credentials.

    Twisted's default access log writes the full request line, and the query
    of an Autoconfig request contains the user's email address. This Site
    logs the path (with the local part of any address in it replaced by
    C{*}), the domain the resource found, the status and the duration
    instead, as one structured event per request.

    @ivar requestObserver: Observer of every finished request, or C{None}.
    """

    def __init__(
        self,
        resource: IResource,
        reactor: IReactorTime,
        requestObserver: Optional[RequestObserver] = None,
    ) -> None:
        super().__init__(resource, reactor=reactor)
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
