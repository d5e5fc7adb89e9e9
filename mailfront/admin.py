"""
The admin listener: health, readiness, Prometheus metrics and reload.

It is a Site of its own, on its own endpoint (loopback by default), so none
of it is reachable through the public listeners:

  - C{GET /healthz}: C{200 ok} while the process serves requests.
  - C{GET /readyz}: C{200} with a JSON body once a snapshot serves, which
    is from start-up on. The body names the serving generation and the
    result of the last reload, with the file, key and reason of every
    problem if it was rejected. A rejected reload leaves the previous
    configuration serving, so readiness stays C{200}.
  - C{GET /metrics}: Prometheus text format.
  - C{POST /reload}: with C{Authorization: Bearer TOKEN}, runs a reload and
    responds with its result as JSON: C{200} when applied, C{422} when
    rejected.
"""

from __future__ import annotations

import datetime
import hmac
import json
import os
import secrets
from typing import Any

from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.web.iweb import IRequest
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request, Site

from .metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from .metrics import Metrics
from .reload import Reloader, ReloadResult
from .snapshot import SnapshotHolder
from .web.pages import plainText
from .web.root import RootResource

__all__ = [
    "AdminTokenError",
    "AdminSite",
    "buildAdminSite",
    "ensureAdminToken",
    "readinessReport",
    "resultReport",
]

JSON_CONTENT_TYPE = b"application/json"

#: The trigger that the admin endpoint passes to L{Reloader.request}.
ADMIN_TRIGGER = "admin request"


class AdminTokenError(Exception):
    """
    The admin token file cannot be read or created; the message names the
    file and the reason.
    """


def ensureAdminToken(path: str) -> bytes:
    """
    Read the bearer token that C{POST /reload} requires, creating the file
    with a random token (readable by its owner only) if it does not exist.

    @return: The token, without surrounding white space.
    @raise AdminTokenError: If the file cannot be read or created, or is
        empty.
    """
    try:
        with open(path, "rb") as f:
            token = f.read().strip()
    except FileNotFoundError:
        token = secrets.token_urlsafe(32).encode("ascii")
        try:
            directory = os.path.dirname(path)
            if directory:
                os.makedirs(directory, mode=0o700, exist_ok=True)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as f:
                f.write(token + b"\n")
        except OSError as e:
            raise AdminTokenError(
                f"cannot create the admin token file {path}: {e.strerror}"
            ) from None
    except OSError as e:
        raise AdminTokenError(f"cannot read the admin token file {path}: {e.strerror}") from None
    if not token:
        raise AdminTokenError(
            f"the admin token file {path} is empty; write a token into it or delete it "
            "to have one generated"
        )
    return token


def _isoTime(timestamp: float) -> str:
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def resultReport(result: ReloadResult) -> dict[str, Any]:
    """
    Describe a reload result as JSON-ready data.
    """
    return {
        "result": "success" if result.succeeded else "failure",
        "trigger": result.trigger,
        "finishedAt": _isoTime(result.finishedAt),
        "generation": result.generation,
        "errors": [
            {"file": error.path, "key": error.key, "reason": error.reason}
            for error in result.errors
        ],
    }


def readinessReport(holder: SnapshotHolder, reloader: Reloader) -> dict[str, Any]:
    """
    Describe the serving configuration and the last reload as JSON-ready
    data, for C{/readyz}.
    """
    snapshot = holder.current
    return {
        "status": "ready",
        "generation": snapshot.generation,
        "domains": len(snapshot.registry.domains),
        "reloading": reloader.busy,
        "lastReload": resultReport(reloader.lastResult),
        "lastSuccessfulReloadAt": _isoTime(reloader.lastSuccessAt),
        "reloads": {"succeeded": reloader.succeeded, "failed": reloader.failed},
    }


def _json(request: IRequest, code: int, data: object) -> bytes:
    request.setResponseCode(code)
    request.setHeader(b"content-type", JSON_CONTENT_TYPE)
    request.setHeader(b"cache-control", b"no-store")
    return json.dumps(data, indent=2).encode("utf-8") + b"\n"


class HealthResource(Resource):
    """
    Liveness: responds C{ok} whenever the reactor runs.
    """

    isLeaf = True

    def render_GET(self, request: IRequest) -> bytes:
        return plainText(request, 200, "ok")


class ReadinessResource(Resource):
    """
    Readiness and the result of the last reload, as JSON.
    """

    isLeaf = True

    def __init__(self, holder: SnapshotHolder, reloader: Reloader) -> None:
        super().__init__()
        self._holder = holder
        self._reloader = reloader

    def render_GET(self, request: IRequest) -> bytes:
        return _json(request, 200, readinessReport(self._holder, self._reloader))


class MetricsResource(Resource):
    """
    Every metric in the Prometheus text format.
    """

    isLeaf = True

    def __init__(self, metrics: Metrics) -> None:
        super().__init__()
        self._metrics = metrics

    def render_GET(self, request: IRequest) -> bytes:
        request.setHeader(b"content-type", METRICS_CONTENT_TYPE)
        return self._metrics.exposition()


class ReloadResource(Resource):
    """
    C{POST /reload}: reloads the configuration and responds with the result.

    The request needs C{Authorization: Bearer TOKEN} with the token of the
    admin token file. The response comes when the reload that covers the
    request has ended.
    """

    isLeaf = True
    log = Logger()

    def __init__(self, reloader: Reloader, token: bytes) -> None:
        super().__init__()
        self._reloader = reloader
        self._expected = b"Bearer " + token

    def render_GET(self, request: IRequest) -> bytes:
        request.setHeader(b"allow", b"POST")
        return plainText(request, 405, "use POST to reload the configuration")

    def render_POST(self, request: Request) -> Any:
        given = request.getHeader(b"authorization") or b""
        if not hmac.compare_digest(given, self._expected):
            self.log.warn("Rejected a reload request without a valid admin token")
            request.setHeader(b"www-authenticate", b'Bearer realm="mailfront admin"')
            return plainText(request, 401, "a valid admin token is required")

        finished: list[bool] = []
        request.notifyFinish().addBoth(lambda ignored: finished.append(True))
        reloading = self._reloader.request(ADMIN_TRIGGER)
        reloading.addCallback(self._respond, request, finished)
        return NOT_DONE_YET

    def _respond(self, result: ReloadResult, request: Request, finished: list[bool]) -> None:
        if finished:
            # The client went away; the reload still happened.
            return
        code = 200 if result.succeeded else 422
        request.write(_json(request, code, resultReport(result)))
        request.finish()


class AdminSite(Site):
    """
    The admin Site. It writes no access log: Prometheus scrapes it every
    few seconds, and every reload already logs its own events.
    """

    def log(self, request: IRequest) -> None:  # type: ignore[override]
        pass


def buildAdminSite(
    holder: SnapshotHolder,
    reloader: Reloader,
    metrics: Metrics,
    token: bytes,
    reactor: IReactorTime,
) -> Site:
    """
    Build the admin Site.

    @param token: The bearer token that C{POST /reload} requires.
    """
    routes = {
        b"/healthz": HealthResource(),
        b"/readyz": ReadinessResource(holder, reloader),
        b"/metrics": MetricsResource(metrics),
        b"/reload": ReloadResource(reloader, token),
    }
    return AdminSite(RootResource(routes), reactor=reactor)
