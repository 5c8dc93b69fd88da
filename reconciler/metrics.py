"""Prometheus metrics, defined once for the process (the default registry)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

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

# The loop. Three names are fixed because dashboards and alerts outside this repository
# use them: edgio_ingress_pass_duration_seconds, edgio_ingress_last_successful_pass_
# timestamp_seconds and edgio_ingress_provider_calls_total.
PASS_DURATION = Histogram(
    "edgio_ingress_pass_duration_seconds",
    "Duration of one reconcile pass, from snapshot to the last status write.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
LAST_SUCCESSFUL_PASS = Gauge(
    "edgio_ingress_last_successful_pass_timestamp_seconds",
    "Unix time of the end of the last pass that ran to completion (0: none yet).",
)
CONSECUTIVE_FAILED_PASSES = Gauge(
    "edgio_ingress_consecutive_failed_passes",
    "Passes that failed since the last one that succeeded.",
)
CHANGES = Counter(
    "edgio_ingress_changes_total",
    "Writes to the providers, by provider, kind (A, TXT, rule), action and result.",
    ["provider", "kind", "action", "result"],
)
ROUTES = Gauge(
    "edgio_ingress_routes",
    "EdgioRoutes by condition type and reason, at the end of the last pass.",
    ["condition", "reason"],
)
DRIFT_CORRECTED = Counter(
    "edgio_ingress_drift_corrected_total",
    "Writes that restored an object the controller had already converged (edited outside).",
    ["provider", "kind"],
)
LEADER = Gauge(
    "edgio_ingress_leader",
    "1 while this process holds the leader Lease (or runs without leader election).",
)
CACHE_RESYNCS = Counter(
    "edgio_ingress_cache_resyncs_total",
    "Full listings of a DNS zone or an Edgio account into the provider state cache.",
)
WATCH_RESTARTS = Counter(
    "edgio_ingress_watch_restarts_total",
    "Watches of the cluster that ended and were resumed or re-listed.",
    ["resource"],
)
MASS_DELETE_REFUSED = Counter(
    "edgio_ingress_mass_delete_refused_total",
    "Passes the mass-deletion guard refused, by what they would have deleted "
    "(records, rules, routes).",
    ["kind"],
)
EVENTS_DROPPED = Counter(
    "edgio_ingress_events_dropped_total",
    "Kubernetes Events not written because the queue of Events to send was full.",
)
