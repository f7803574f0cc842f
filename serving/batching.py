"""Adaptive batching: concurrent requests for one model stacked into one `session.run`.

A request that may share a run joins its model's queue; the queue is flushed one event-loop
turn later (or `max_batch_time` later when that is set), so the requests whose bodies were
read in the same turn run together, and requests arriving while a batch runs form the next
one. A lone request (no other request under way, see `TaskCount`) runs at once, so
batching adds no latency at concurrency 1. Requests stack only with requests
whose inputs have the same trailing dimensions; results are split back by rows. When a
stacked run fails, each request of it runs alone, so one bad request fails only itself.

Runs of more than `inline_max_rows` rows use the model's session for large runs (more
intra-op threads). Batches of at most `inline_max_rows` rows run on the event loop (cheapest
for small work); bigger ones on a worker thread (onnxruntime releases the GIL), while the
loop reads and answers other requests, except a big request alone on the server: it runs
on the event loop too, since nothing waits for the loop and two thread hand-offs a request
(~0.1 ms each on this 2-core machine, more when it is busy) are saved.
Requests that cannot share a run (a model without a free leading dimension, or a request of
`max_batch_size` rows or more) run alone at once, as before.
"""

from __future__ import annotations

import asyncio
import sys
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import numpy as np

from serving.errors import ServingError
from serving.model import OnnxModel

Feeds = Mapping[str, np.ndarray]
Outcome = list[np.ndarray] | ServingError


@dataclass(frozen=True)
class BatchSettings:
    """How requests are stacked: row limit, waiting time, where a batch runs."""

    max_batch_size: int = 32
    max_batch_time: float = 0.0
    inline_max_rows: int = 64


@dataclass
class Pending:
    """One queued request: its inputs, wanted outputs and the future of its result."""

    feeds: Feeds
    output_names: list[str]
    rows: int
    key: tuple[Any, ...]
    future: asyncio.Future[list[np.ndarray]]


def rows_of(feeds: Feeds) -> int:
    """Leading dimension of the first input (1 for scalars): the batch size."""
    first = next(iter(feeds.values()), None)
    return int(first.shape[0]) if first is not None and first.ndim else 1


def stacking_key(feeds: Feeds) -> tuple[Any, ...]:
    """Requests with equal keys can be stacked: same inputs, trailing dimensions, dtypes."""
    return tuple((name, array.shape[1:], array.dtype.str) for name, array in sorted(feeds.items()))


def can_batch(model: OnnxModel) -> bool:
    """Every input and output has a free leading (batch) dimension."""
    return all(spec.shape[:1] == (-1,) for spec in [*model.inputs, *model.outputs])


ALL_TASKS = getattr(asyncio.tasks, "_all_tasks", None)


def task_count() -> int:
    """Tasks of the event loop (the server runs one): CPython 3.11 keeps them in a WeakSet,
    whose size costs nothing; `asyncio.all_tasks()` copies and filters it (~5 µs a request)."""
    return len(ALL_TASKS) if ALL_TASKS is not None else len(asyncio.all_tasks())


class TaskCount:
    """Tells whether other requests are under way in this event loop.

    Every request the server has read runs as an asyncio task from the moment its headers
    are parsed, before its own code starts. So a request that sees more tasks than the
    server's own long-lived ones plus itself knows others are waiting to run; one that sees
    no more is alone and need not wait a loop turn for company. The count to compare with
    is noted at start-up (`start`) and lowered to the fewest ever seen. Wrong guesses are
    harmless: a batch of one, or one loop turn of waiting.
    """

    def __init__(self) -> None:
        self.fewest = sys.maxsize

    def start(self) -> None:
        """Note the server's own tasks, at start-up in its event loop (before any request)."""
        self.fewest = task_count() + 1

    def others_under_way(self) -> bool:
        count = task_count()
        self.fewest = min(self.fewest, count)
        return count > self.fewest


class Batcher:
    """The batching queue of one loaded model (one batch in flight at a time)."""

    def __init__(
        self,
        model: OnnxModel,
        executor: Executor,
        settings: BatchSettings,
        on_batch: Callable[[int], None] = lambda rows: None,
        others_under_way: Callable[[], bool] = lambda: True,
    ) -> None:
        self.model = model
        self.executor = executor
        self.settings = settings
        self.on_batch = on_batch
        self.others_under_way = others_under_way
        self.enabled = settings.max_batch_size > 1 and can_batch(model)
        self.queue: deque[Pending] = deque()
        self.queued_rows = 0
        self.running = False
        self.flush_handle: asyncio.Handle | None = None

    async def run(self, feeds: Feeds, output_names: list[str]) -> list[np.ndarray]:
        """The request's outputs, computed alone or stacked with concurrent requests."""
        rows = rows_of(feeds)
        if not self.enabled or not 0 < rows < self.settings.max_batch_size or self.alone():
            return await self.run_alone(feeds, output_names, rows)
        loop = asyncio.get_running_loop()
        pending = Pending(feeds, output_names, rows, stacking_key(feeds), loop.create_future())
        self.queue.append(pending)
        self.queued_rows += rows
        self.schedule(loop)
        return await pending.future

    def idle(self) -> bool:
        """No batch queued or running and no other request under way."""
        return not self.queue and not self.running and not self.others_under_way()

    def alone(self) -> bool:
        """Idle, and no waiting for company asked for."""
        return self.settings.max_batch_time <= 0 and self.idle()

    async def run_alone(self, feeds: Feeds, output_names: list[str], rows: int) -> Any:
        self.on_batch(rows)
        large = rows > self.settings.inline_max_rows
        if not large or self.idle():
            return self.model.run(feeds, output_names, large)
        loop = asyncio.get_running_loop()
        run = self.model.run
        return await loop.run_in_executor(self.executor, run, feeds, output_names, True)

    def schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        """Plan the next flush: next loop turn, or after max_batch_time unless already full."""
        if self.running:
            return
        full = self.queued_rows >= self.settings.max_batch_size
        if self.flush_handle is not None and full:
            self.flush_handle.cancel()
            self.flush_handle = None
        if self.flush_handle is None:
            wait = 0.0 if full else self.settings.max_batch_time
            self.flush_handle = (
                loop.call_later(wait, self.flush) if wait > 0 else loop.call_soon(self.flush)
            )

    def flush(self) -> None:
        """Take the next batch off the queue and run it (inline or on a worker thread)."""
        self.flush_handle = None
        if self.running or not self.queue:
            return
        batch = self.take_batch()
        rows = sum(pending.rows for pending in batch)
        self.on_batch(rows)
        self.running = True
        if rows <= self.settings.inline_max_rows:
            self.finish(batch, execute(self.model, batch))
            return
        loop = asyncio.get_running_loop()
        done = loop.run_in_executor(self.executor, execute, self.model, batch, True)
        done.add_done_callback(lambda future: self.finish(batch, outcome_of(future, len(batch))))

    def take_batch(self) -> list[Pending]:
        """The oldest request plus every later one stackable with it, up to max_batch_size."""
        first = self.queue.popleft()
        batch, rows, rest = [first], first.rows, deque[Pending]()
        while self.queue:
            pending = self.queue.popleft()
            if pending.key == first.key and rows + pending.rows <= self.settings.max_batch_size:
                batch.append(pending)
                rows += pending.rows
            else:
                rest.append(pending)
        self.queue = rest
        self.queued_rows -= rows
        return batch

    def finish(self, batch: list[Pending], outcomes: list[Outcome]) -> None:
        """Hand every request its outcome, then start the next batch if any is queued."""
        self.running = False
        for pending, outcome in zip(batch, outcomes, strict=True):
            if pending.future.done():  # the request was cancelled meanwhile
                continue
            if isinstance(outcome, ServingError):
                pending.future.set_exception(outcome)
            else:
                pending.future.set_result(outcome)
        if self.queue:
            self.schedule(asyncio.get_running_loop())


def outcome_of(future: asyncio.Future[Any], size: int) -> list[Outcome]:
    """The outcomes computed on a worker thread (an unexpected error fails the whole batch)."""
    if future.cancelled():
        return [ServingError("inference was cancelled")] * size
    error = future.exception()
    if error is None:
        return list(future.result())
    return [ServingError(f"inference failed: {error}")] * size


def execute(model: OnnxModel, batch: Sequence[Pending], large: bool = False) -> list[Outcome]:
    """One session.run over the stacked inputs, split back per request; alone on failure."""
    if len(batch) == 1:
        return [run_one(model, batch[0], large)]
    names = [spec.name for spec in model.outputs]
    stacked = {name: np.concatenate([p.feeds[name] for p in batch]) for name in batch[0].feeds}
    rows = sum(pending.rows for pending in batch)
    try:
        arrays = model.run(stacked, names, large)
    except ServingError:
        return [run_one(model, pending, large) for pending in batch]
    if any(array.ndim == 0 or array.shape[0] != rows for array in arrays):
        return [run_one(model, pending, large) for pending in batch]  # outputs are not per row
    return split(arrays, names, batch)


def split(arrays: list[np.ndarray], names: list[str], batch: Sequence[Pending]) -> list[Outcome]:
    """Each request's rows of each output it asked for."""
    by_name = dict(zip(names, arrays, strict=True))
    outcomes: list[Outcome] = []
    start = 0
    for pending in batch:
        stop = start + pending.rows
        outcomes.append([by_name[name][start:stop] for name in pending.output_names])
        start = stop
    return outcomes


def run_one(model: OnnxModel, pending: Pending, large: bool = False) -> Outcome:
    try:
        return model.run(pending.feeds, pending.output_names, large)
    except ServingError as exc:
        return exc
