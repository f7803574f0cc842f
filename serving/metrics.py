"""Prometheus metrics, per model (only models that exist get a label: no unbounded series)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
LATENCY_BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
)  # fmt: skip


class ServingMetrics:
    """Request counts, failures and latency per model; loads per outcome; models loaded."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "serving_inference_requests", "Inference requests per model.", ["model"],
            registry=self.registry,
        )  # fmt: skip
        self.failures = Counter(
            "serving_inference_failures", "Failed inference requests per model and status.",
            ["model", "status"], registry=self.registry,
        )  # fmt: skip
        self.latency = Histogram(
            "serving_inference_duration_seconds", "Inference latency per model (server side).",
            ["model"], buckets=LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.rows = Counter(
            "serving_inference_rows", "Rows (images) inferred per model.", ["model"],
            registry=self.registry,
        )  # fmt: skip
        self.batch_rows = Histogram(
            "serving_inference_batch_rows", "Rows per onnxruntime run (requests stacked).",
            ["model"], buckets=BATCH_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.loads = Counter(
            "serving_model_loads", "Model loads per outcome (ok, refused, failed).",
            ["outcome"], registry=self.registry,
        )  # fmt: skip
        self.loaded = Gauge(
            "serving_models_loaded", "Models currently serving.", registry=self.registry
        )
        self._series: dict[str, tuple[Any, Any, Any]] = {}

    def observe(self, model: str, seconds: float, rows: int) -> None:
        series = self._series.get(model)
        if series is None:  # labels() is slow-ish: look each model's series up once
            series = (self.requests.labels(model), self.rows.labels(model),
                      self.latency.labels(model))  # fmt: skip
            self._series[model] = series
        requests, row_count, latency = series
        requests.inc()
        row_count.inc(rows)
        latency.observe(seconds)

    def batch_observer(self, model: str) -> Callable[[int], None]:
        """Records the rows of each onnxruntime run of `model`."""
        return self.batch_rows.labels(model).observe

    def failed(self, model: str, status: int) -> None:
        self.requests.labels(model).inc()
        self.failures.labels(model, str(status)).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
