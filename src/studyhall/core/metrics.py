"""Prometheus metrics. Each application owns its registry, so several apps (tests) coexist."""

from __future__ import annotations

import bisect
from typing import Any, NamedTuple

from prometheus_client import CONTENT_TYPE_LATEST as PROMETHEUS_CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["METRICS_INFO_KEY", "PROMETHEUS_CONTENT_TYPE", "Metrics"]

#: `Session.info` key of the process's `Metrics`, for code that has only a session.
METRICS_INFO_KEY = "studyhall.metrics"


class RepeatedHistogram(Histogram):
    """A histogram that also takes one value seen several times in one call: the activity
    store observes the latency of every event it writes, and the events of one arrival share
    it (500 observations become one bucket increment). prometheus-client has no such call;
    this one updates the same sum and buckets `observe` does (a test checks they agree)."""

    def observe_repeated(self, amount: float, times: int) -> None:
        self._raise_if_not_observable()  # type: ignore[no-untyped-call]
        self._sum.inc(amount * times)
        self._buckets[bisect.bisect_left(self._upper_bounds, amount)].inc(times)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "studyhall_http_requests_total",
            "HTTP requests by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "studyhall_http_request_duration_seconds",
            "HTTP request latency by method and route template",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.db_pool = Gauge(
            "studyhall_db_pool_connections",
            "Database pool connections by state",
            ["state"],
            registry=self.registry,
        )
        self.outbox = Gauge(
            "studyhall_outbox_events",
            "Outbox events by status",
            ["status"],
            registry=self.registry,
        )
        self.events_processed = Counter(
            "studyhall_events_processed_total",
            "Outbox events handled, by type and result",
            ["event_type", "result"],
            registry=self.registry,
        )
        self.events_handled = Counter(
            "studyhall_event_handler_done_total",
            "Events whose handler committed its effect, by handler",
            ["handler"],
            registry=self.registry,
        )
        self.events_failed = Counter(
            "studyhall_event_handler_failed_total",
            "Handler runs that raised (each retry counts), by handler",
            ["handler"],
            registry=self.registry,
        )
        self.handler_latency = Histogram(
            "studyhall_event_handler_duration_seconds",
            "Time of a successful handler run, its transaction included, by handler",
            ["handler"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.relay_lag = Gauge(
            "studyhall_outbox_lag_seconds",
            "Age of the oldest outbox event not yet relayed (broker mode) or delivered (embedded)",
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "studyhall_broker_queue_messages",
            "Messages ready in each broker queue (work, dead letters)",
            ["queue"],
            registry=self.registry,
        )

        # Activity events (analytics): docs/analytics.md explains how to read these.
        self.activity_accepted = Counter(
            "studyhall_activity_events_accepted_total",
            "Client activity events accepted by POST /events (stored, or published in broker mode)",
            registry=self.registry,
        )
        self.activity_rejected = Counter(
            "studyhall_activity_events_rejected_total",
            "Client activity events rejected by POST /events, by reason",
            ["reason"],
            registry=self.registry,
        )
        self.activity_duplicates = Counter(
            "studyhall_activity_events_duplicates_total",
            "Activity events skipped as repeats: within a batch, or already stored",
            ["stage"],
            registry=self.registry,
        )
        self.activity_stored = Counter(
            "studyhall_activity_events_stored_total",
            "Activity events written to the store (the ingest rate), by source",
            ["source"],
            registry=self.registry,
        )
        self.activity_latency = RepeatedHistogram(
            "studyhall_activity_ingest_latency_seconds",
            "Time from an activity event's arrival at the API to its commit in the store",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.activity_lag = Gauge(
            "studyhall_activity_pipeline_lag_seconds",
            "Age of the oldest activity event this worker received and has not stored yet (0: none)",
            registry=self.registry,
        )

        #: The labelled children of each (method, route, status) seen: `labels()` takes a lock
        #: and builds a key on every call, several times the cost of counting.
        self._request_series: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._handler_series: dict[str, HandlerSeries] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        series = self._request_series.get((method, route, status))
        if series is None:
            series = (self.requests.labels(method, route, str(status)), self.latency.labels(method, route))
            self._request_series[(method, route, status)] = series
        count, latency = series
        count.inc()
        latency.observe(seconds)

    def handler_series(self, handler: str) -> HandlerSeries:
        """The labelled children of one event handler, bound once."""
        series = self._handler_series.get(handler)
        if series is None:
            series = HandlerSeries(
                self.events_handled.labels(handler),
                self.events_failed.labels(handler),
                self.handler_latency.labels(handler),
            )
            self._handler_series[handler] = series
        return series

    def render(self) -> bytes:
        return generate_latest(self.registry)


class HandlerSeries(NamedTuple):
    done: Any
    failed: Any
    latency: Any
