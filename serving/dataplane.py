"""The protocol-neutral data plane: metadata, inference and the model repository operations.

Takes and returns `serving.types` objects; knows nothing of HTTP or JSON.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from serving import __version__
from serving.errors import ModelNotFound, ServingError
from serving.loader import LoadSpec, ModelLoader
from serving.metrics import ServingMetrics
from serving.model import OnnxModel
from serving.repository import IndexEntry, ModelRepository, checked_name
from serving.types import InferenceRequest, InferenceResponse, ModelMetadata, ResponseTensor

log = logging.getLogger("serving")

EXTENSIONS = ["model_repository", "binary_tensor_data"]
UNKNOWN_MODEL = "_unknown"


def rows_of(feeds: Mapping[str, np.ndarray]) -> int:
    """Leading dimension of the first input (1 for scalars): the batch size."""
    first = next(iter(feeds.values()), None)
    return int(first.shape[0]) if first is not None and first.ndim else 1


class DataPlane:
    """Serves inference from the repository's models and loads/unloads them."""

    def __init__(
        self,
        repository: ModelRepository,
        loader: ModelLoader,
        metrics: ServingMetrics,
        inline_max_rows: int = 16,
    ) -> None:
        self.repository = repository
        self.loader = loader
        self.metrics = metrics
        self.inline_max_rows = inline_max_rows
        self.infer_pool = ThreadPoolExecutor(2, thread_name_prefix="infer")
        self.load_pool = ThreadPoolExecutor(2, thread_name_prefix="load")

    def server_metadata(self) -> dict[str, Any]:
        return {"name": "serving", "version": __version__, "extensions": EXTENSIONS}

    def model_metadata(self, name: str, version: str | None = None) -> ModelMetadata:
        return self.repository.get(name, version).metadata()

    def model_ready(self, name: str, version: str | None = None) -> bool:
        """True when served; raises ModelNotFound / ModelNotReady otherwise."""
        self.repository.get(name, version)
        return True

    async def infer(
        self, name: str, version: str | None, request: InferenceRequest
    ) -> InferenceResponse:
        """Run `request`; errors propagate (the front end reports them via `count_failure`)."""
        model = self.repository.get(name, version)
        started = time.perf_counter()
        feeds = model.feeds(request.inputs)
        output_names = model.output_names(request.output_names)
        arrays = await self._run(model, feeds, output_names)
        self.metrics.observe(name, time.perf_counter() - started, rows_of(feeds))
        outputs = [ResponseTensor(n, a) for n, a in zip(output_names, arrays, strict=True)]
        return InferenceResponse(name, model.version, outputs, request.id)

    def count_failure(self, name: str, error: ServingError) -> None:
        """Count a failed inference request (under `_unknown` when no such model serves)."""
        label = name if name in self.repository.models else UNKNOWN_MODEL
        self.metrics.failed(label, error.status)

    async def _run(
        self, model: OnnxModel, feeds: dict[str, np.ndarray], output_names: list[str]
    ) -> list[np.ndarray]:
        """Small batches run inline (fastest); big ones on a worker thread (no stalls)."""
        if rows_of(feeds) <= self.inline_max_rows:
            return model.run(feeds, output_names)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.infer_pool, model.run, feeds, output_names)

    def index(self, ready_only: bool = False) -> list[IndexEntry]:
        return self.repository.index(ready_only)

    async def load(self, name: str, parameters: Mapping[str, Any]) -> IndexEntry:
        """Load (or reload) `name`; on failure the reason lands in the index and is raised."""
        checked_name(name)
        async with self.repository.lock(name):
            spec = LoadSpec.from_parameters(parameters, self.repository.specs.get(name))
            self.repository.mark_loading(name, spec)
            loop = asyncio.get_running_loop()
            try:
                model = await loop.run_in_executor(self.load_pool, self.loader.load, name, spec)
            except Exception as exc:
                raise self._load_failed(name, spec, exc) from None
            self.repository.install(model, spec)
            self._count_load("ok")
            log.info("loaded model %s version %s from %s", name, spec.version, spec.uri)
            return self.repository.entries[name]

    def _load_failed(self, name: str, spec: LoadSpec, exc: Exception) -> ServingError:
        error = exc if isinstance(exc, ServingError) else ServingError(f"load failed: {exc}")
        self.repository.mark_failed(name, spec, error.message)
        self._count_load("refused" if error.status < 500 else "failed")
        log.warning("load of model %s version %s refused: %s", name, spec.version, error.message)
        return error

    def _count_load(self, outcome: str) -> None:
        self.metrics.loads.labels(outcome).inc()
        self.metrics.loaded.set(len(self.repository.models))

    async def unload(self, name: str) -> None:
        async with self.repository.lock(name):
            if name not in self.repository.entries:
                raise ModelNotFound(f"model {name!r} is not loaded")
            self.repository.unload(name)
        self.metrics.loaded.set(len(self.repository.models))
        log.info("unloaded model %s", name)

    def prepare(self) -> None:
        """Warm the loader in the background (probe onnxruntime, create the S3 client)."""
        self.load_pool.submit(self.loader.prepare)

    def close(self) -> None:
        self.infer_pool.shutdown(wait=False, cancel_futures=True)
        self.load_pool.shutdown(wait=False, cancel_futures=True)
