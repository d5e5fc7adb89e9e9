"""
Prometheus metrics of requests, reloads and the configuration in use.

The metrics live in a L{CollectorRegistry} of their own rather than in
C{prometheus_client}'s global one, so two services in one process (as in
tests) never share counters.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Iterator, Optional

from prometheus_client import CollectorRegistry, Counter, Gauge, ProcessCollector
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString

from .reload import ReloadResult
from .snapshot import Snapshot

__all__ = ["CONTENT_TYPE", "LATENCY_BUCKETS", "Metrics", "RequestStatistics"]

#: Media type of the text exposition format.
CONTENT_TYPE = CONTENT_TYPE_LATEST.encode("ascii")

#: Upper bounds of the latency histogram, in seconds. A prepared response
#: takes well under a millisecond, so the buckets start at 0.5 ms.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

#: Protocol label of requests that no resource claimed (unknown paths).
NO_PROTOCOL = "none"


class RequestStatistics:
    """
    Counts of requests by protocol and status, and their latency histogram.

    C{prometheus_client}'s own counters and histograms take a lock on every
    update. Requests are counted in the reactor thread, and C{/metrics} is
    rendered there too, so plain integers suffice and cost a fraction of
    that; L{collect} turns them into metric families when scraped.
    """

    def __init__(self, buckets: tuple[float, ...]) -> None:
        self._bounds = buckets
        self._requests: dict[tuple[str, int], int] = {}
        # Per protocol: a count per bucket (the last one for +Inf), and the
        # sum of durations.
        self._bucketCounts: dict[str, list[int]] = {}
        self._sums: dict[str, float] = {}

    def count(self, protocol: str, status: int, duration: float) -> None:
        """
        Count one finished request.
        """
        key = (protocol, status)
        self._requests[key] = self._requests.get(key, 0) + 1
        counts = self._bucketCounts.get(protocol)
        if counts is None:
            counts = self._bucketCounts[protocol] = [0] * (len(self._bounds) + 1)
            self._sums[protocol] = 0.0
        counts[bisect_left(self._bounds, duration)] += 1
        self._sums[protocol] += duration

    def describe(self) -> Iterator[Metric]:
        """
        Name the metric families, for the registry's duplicate check.
        """
        yield self._requestFamily()
        yield self._latencyFamily()

    def collect(self) -> Iterator[Metric]:
        """
        Build the metric families from the counts so far.
        """
        requests = self._requestFamily()
        for (protocol, status), count in sorted(self._requests.items()):
            requests.add_metric([protocol, str(status)], count)
        yield requests

        latency = self._latencyFamily()
        for protocol, counts in sorted(self._bucketCounts.items()):
            cumulative = 0
            buckets: list[tuple[str, float]] = []
            for bound, count in zip((*self._bounds, float("inf")), counts):
                cumulative += count
                buckets.append((floatToGoString(bound), cumulative))
            latency.add_metric([protocol], buckets, self._sums[protocol])
        yield latency

    def _requestFamily(self) -> CounterMetricFamily:
        return CounterMetricFamily(
            "mailfront_requests",
            "HTTP responses sent, by protocol and status code.",
            labels=["protocol", "status"],
        )

    def _latencyFamily(self) -> HistogramMetricFamily:
        return HistogramMetricFamily(
            "mailfront_request_duration_seconds",
            "Time from routing an HTTP request to finishing its response, by protocol.",
            labels=["protocol"],
        )


class Metrics:
    """
    The metrics of one mailfront service.

    L{requestFinished} is a L{mailfront.web.root.RequestObserver};
    L{snapshotSwapped} observes a L{mailfront.snapshot.SnapshotHolder};
    L{reloadFinished} observes a L{mailfront.reload.Reloader}.

    @ivar registry: The registry that C{/metrics} exposes.
    """

    def __init__(self, snapshot: Snapshot, loadedAt: float) -> None:
        """
        @param snapshot: The snapshot serving at start-up.
        @param loadedAt: POSIX time the start-up configuration was loaded.
        """
        self.registry = CollectorRegistry()
        registry = self.registry
        self._requests = RequestStatistics(LATENCY_BUCKETS)
        registry.register(self._requests)
        self._reloads = Counter(
            "mailfront_reloads",
            "Configuration reloads, by result (success or failure).",
            ["result"],
            registry=registry,
        )
        self._generation = Gauge(
            "mailfront_config_generation",
            "Generation of the configuration serving now; 1 is the one loaded at start-up.",
            registry=registry,
        )
        self._lastSuccess = Gauge(
            "mailfront_config_last_reload_success_timestamp_seconds",
            "POSIX time the serving configuration was loaded.",
            registry=registry,
        )
        self._lastSuccessful = Gauge(
            "mailfront_config_last_reload_successful",
            "1 if the last reload was applied, 0 if it was rejected.",
            registry=registry,
        )
        self._domains = Gauge(
            "mailfront_domains",
            "Domains in the configuration serving now.",
            registry=registry,
        )
        ProcessCollector(registry=registry)

        for result in ("success", "failure"):
            self._reloads.labels(result)
        self._lastSuccess.set(loadedAt)
        self._lastSuccessful.set(1)
        self._observeSnapshot(snapshot)

    def requestFinished(self, protocol: Optional[str], status: int, duration: float) -> None:
        """
        Count one finished request and its latency.
        """
        self._requests.count(protocol or NO_PROTOCOL, status, duration)

    def snapshotSwapped(self, previous: Snapshot, current: Snapshot) -> None:
        """
        Follow a new snapshot.
        """
        self._observeSnapshot(current)

    def reloadFinished(self, result: ReloadResult) -> None:
        """
        Count a reload and record when the serving configuration was loaded.
        """
        self._reloads.labels("success" if result.succeeded else "failure").inc()
        self._lastSuccessful.set(1 if result.succeeded else 0)
        if result.succeeded:
            self._lastSuccess.set(result.finishedAt)

    def exposition(self) -> bytes:
        """
        Render every metric in the Prometheus text format.
        """
        body: bytes = generate_latest(self.registry)
        return body

    def _observeSnapshot(self, snapshot: Snapshot) -> None:
        self._generation.set(snapshot.generation)
        self._domains.set(len(snapshot.registry.domains))
