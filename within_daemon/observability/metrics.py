"""The daemon's Prometheus metrics, built on one registry that is passed in.

Tests build a fresh ``CollectorRegistry`` per ``Metrics`` object, so nothing leaks between
them. Labels are bounded: platform, pipeline, error class, stage and queue names. The
account label appears only on per-account state gauges (circuit, paused), whose cardinality
is the number of configured accounts.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    """Every metric the daemon exports, prefixed ``within_``."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.http_requests = Counter(
            "within_http_requests_total", "Platform API requests by outcome.",
            ["platform", "endpoint", "outcome"], registry=r,
        )
        self.http_errors = Counter(
            "within_http_errors_total", "Platform API errors by class.",
            ["platform", "error_class"], registry=r,
        )
        self.http_latency = Histogram(
            "within_http_request_duration_seconds", "Platform API request latency.",
            ["platform", "endpoint"], buckets=_LATENCY_BUCKETS, registry=r,
        )
        self.retries = Counter(
            "within_retries_total", "Retried API calls by error class.",
            ["platform", "error_class"], registry=r,
        )
        self.rate_limit_wait = Counter(
            "within_rate_limit_wait_seconds_total",
            "Seconds spent waiting for rate limits, pacing and throttle pauses.",
            ["platform", "reason"], registry=r,
        )
        self.platform_usage = Gauge(
            "within_platform_usage_ratio",
            "Highest usage reported by the platform's usage headers (1.0 = 100%).",
            ["platform", "account_id"], registry=r,
        )
        self.circuit_state = Gauge(
            "within_circuit_state", "Circuit breaker state: 0 closed, 1 half-open, 2 open.",
            ["platform", "account_id"], registry=r,
        )
        self.account_paused_until = Gauge(
            "within_account_paused_until_timestamp_seconds",
            "Unix time until which an account is paused (0 when not paused).",
            ["platform", "account_id"], registry=r,
        )
        self.circuit_next_probe = Gauge(
            "within_circuit_next_probe_timestamp_seconds",
            "Unix time an open circuit will next be probed (0 when closed).",
            ["platform", "account_id"], registry=r,
        )
        self.outage_wait = Counter(
            "within_outage_wait_seconds_total",
            "Seconds accounts waited on an open circuit for its next probe.",
            ["platform"], registry=r,
        )
        self.throttles = Counter(
            "within_throttles_total",
            "Throttle answers by scope (account or app) and whether they named a wait.",
            ["platform", "scope", "hint"], registry=r,
        )
        self.account_stops = Counter(
            "within_account_run_stops_total",
            "Account runs ended early by a spent budget (outage_budget, throttle_budget).",
            ["platform", "reason"], registry=r,
        )
        self.records = Counter(
            "within_records_total", "Records by stage: extracted, loaded, quarantined.",
            ["platform", "pipeline", "stage"], registry=r,
        )
        self.queue_depth = Gauge(
            "within_queue_depth", "Messages waiting in a bounded queue.", ["queue"], registry=r,
        )
        self.queue_capacity = Gauge(
            "within_queue_capacity", "Capacity of a bounded queue.", ["queue"], registry=r,
        )
        self.stage_latency = Histogram(
            "within_stage_duration_seconds", "Time to process one message per stage.",
            ["stage"], buckets=_LATENCY_BUCKETS, registry=r,
        )
        self.run_duration = Histogram(
            "within_task_run_duration_seconds", "Task run durations.", ["task"],
            buckets=(1, 5, 15, 60, 300, 900, 3600, 4 * 3600), registry=r,
        )
        self.runs = Counter(
            "within_task_runs_total", "Task runs by final status.", ["task", "status"],
            registry=r,
        )
        self.last_success = Gauge(
            "within_task_last_success_timestamp_seconds",
            "Unix time of the last successful run of a task.", ["task"], registry=r,
        )
        self.days_completed = Counter(
            "within_ledger_days_completed_total",
            "Account-days marked complete in the ledger.", ["platform", "pipeline"], registry=r,
        )
        self.days_restated = Counter(
            "within_ledger_days_restated_total",
            "Account-days re-pulled although already complete (lookback restatements).",
            ["platform", "pipeline"], registry=r,
        )
        self.days_unsettled = Gauge(
            "within_ledger_days_unsettled",
            "Complete days the platform may still change (last pull before the settle "
            "horizon), per task, after its last run.",
            ["task", "platform"], registry=r,
        )
        self.days_settling = Counter(
            "within_ledger_days_settling_total",
            "Older days pulled again by the settling schedule (beyond the lookback).",
            ["platform", "pipeline"], registry=r,
        )
        self.ledger_completeness = Gauge(
            "within_ledger_completeness_ratio",
            "Share of the days the last run of a task asked for that it completed (0..1).",
            ["task"], registry=r,
        )
        self.data_quality = Gauge(
            "within_data_quality_score",
            "Data quality score per platform and dimension (0..1).",
            ["platform", "dimension"], registry=r,
        )
        self.token_expiry = Gauge(
            "within_token_expiry_timestamp_seconds",
            "Unix time an account's access token expires (0: never expires).",
            ["platform", "account_id"], registry=r,
        )
        self.api_version_sunset = Gauge(
            "within_api_version_sunset_timestamp_seconds",
            "Unix time the configured API version of a platform sunsets (0: none announced).",
            ["platform"], registry=r,
        )
        self.actor_restarts = Counter(
            "within_actor_crashes_total", "Actors that crashed.", ["actor"], registry=r,
        )
        self.enrich_work = Counter(
            "within_enrich_work_total",
            "Enrichment CPU work by kind (text batches, images, post_load blocks) and where it "
            "ran: worker, here (the daemon's process), worker_died (a worker process died "
            "under it), worker_stopped (an image past its decode deadline: its worker was "
            "stopped).",
            ["kind", "outcome"], registry=r,
        )
        self.config_reload = Counter(
            "within_config_reloads_total", "Config reloads by result.", ["result"], registry=r,
        )
        self.cluster_leased = Gauge(
            "within_cluster_leased_accounts", "Accounts this replica holds a lease on.",
            registry=r,
        )
        self.cluster_accounts = Gauge(
            "within_cluster_accounts_configured",
            "Accounts in this replica's config: the cluster should lease all of them.",
            registry=r,
        )
        self.cluster_replicas = Gauge(
            "within_cluster_live_replicas", "Replicas with a fresh heartbeat, as this one sees.",
            registry=r,
        )
        self.cluster_lease_events = Counter(
            "within_cluster_lease_events_total", "Account leases taken, lost and given back.",
            ["event"], registry=r,
        )
