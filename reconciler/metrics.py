"""Prometheus metrics, defined once for the process (the default registry)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

PROVIDER_CALLS = Counter(
    "edgio_ingress_provider_calls_total",
    "HTTP calls to external providers, by provider, operation and outcome.",
    ["provider", "operation", "outcome"],
)
PROVIDER_CALL_SECONDS = Histogram(
    "edgio_ingress_provider_call_seconds",
    "Latency of single HTTP calls to external providers.",
    ["provider", "operation"],
)
PROVIDER_THROTTLES = Counter(
    "edgio_ingress_provider_throttles_total",
    "Times a provider call waited: 'client' for our own rate limiter, 'server' for a 429.",
    ["provider", "source"],
)
