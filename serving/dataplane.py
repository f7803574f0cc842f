"""The protocol-neutral data plane: metadata, inference and the model repository operations.

Takes and returns `serving.types` objects; knows nothing of HTTP or JSON.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from serving import __version__
from serving.batching import Batcher, BatchSettings, TaskCount, rows_of
from serving.errors import ModelNotFound, ServingError
from serving.loader import LoadSpec, ModelLoader
from serving.metrics import ServingMetrics
from serving.model import OnnxModel
from serving.repository import IndexEntry, ModelRepository, checked_name
from serving.types import InferenceRequest, InferenceResponse, ModelMetadata, NamedTensor

log = logging.getLogger("serving")

EXTENSIONS = ["model_repository", "binary_tensor_data"]
UNKNOWN_MODEL = "_unknown"


def settle_heap() -> None:
    """Collect garbage, then exempt every surviving object from the cyclic collector.

    After start-up and after each load the heap holds ~100k long-lived objects (boto3,
    onnx, the model); without this every full collection walks them all and stalls
    requests for tens of milliseconds. Frozen objects are still freed when unreferenced.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


class DataPlane:
    """Serves inference from the repository's models and loads/unloads them."""

    def __init__(
        self,
        repository: ModelRepository,
        loader: ModelLoader,
        metrics: ServingMetrics,
        batching: BatchSettings | None = None,
    ) -> None:
        self.repository = repository
        self.loader = loader
        self.metrics = metrics
        self.batching = batching or BatchSettings()
        self.batchers: dict[str, Batcher] = {}
        self.tasks = TaskCount()
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
        arrays = await self.batcher(model).run(feeds, output_names)
        self.metrics.observe(name, time.perf_counter() - started, rows_of(feeds))
        outputs = [NamedTensor(n, a) for n, a in zip(output_names, arrays, strict=True)]
        return InferenceResponse(name, model.version, outputs, request.id)

    def count_failure(self, name: str, error: ServingError) -> None:
        """Count a failed inference request (under `_unknown` when no such model serves)."""
        label = name if name in self.repository.models else UNKNOWN_MODEL
        self.metrics.failed(label, error.status)

    def batcher(self, model: OnnxModel) -> Batcher:
        """The batching queue of `model` (a new one when the name serves a new model)."""
        batcher = self.batchers.get(model.name)
        if batcher is None or batcher.model is not model:
            on_batch = self.metrics.batch_observer(model.name)
            batcher = Batcher(model, self.infer_pool, self.batching, on_batch,
                              self.tasks.others_under_way)  # fmt: skip
            self.batchers[model.name] = batcher
        return batcher

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
                model = await loop.run_in_executor(self.load_pool, self._load_settled, name, spec)
            except Exception as exc:
                raise self._load_failed(name, spec, exc) from None
            self.repository.install(model, spec)
            self._count_load("ok")
            log.info("loaded model %s version %s from %s", name, spec.version, spec.uri)
            return self.repository.entries[name]

    def _load_settled(self, name: str, spec: LoadSpec) -> OnnxModel:
        model = self.loader.load(name, spec)
        settle_heap()
        return model

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
            self.batchers.pop(name, None)
        self.metrics.loaded.set(len(self.repository.models))
        log.info("unloaded model %s", name)

    def prepare(self) -> None:
        """At start-up, in the event loop: note the server's own tasks (for batching) and
        warm the loader in the background (probe onnxruntime, create the S3 client)."""
        self.tasks.start()
        self.load_pool.submit(self._prepare_settled)

    def _prepare_settled(self) -> None:
        self.loader.prepare()
        settle_heap()

    def close(self) -> None:
        self.infer_pool.shutdown(wait=False, cancel_futures=True)
        self.load_pool.shutdown(wait=False, cancel_futures=True)
