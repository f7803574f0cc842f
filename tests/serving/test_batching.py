"""Adaptive batching: concurrent requests stacked into one onnxruntime run, split back per request.

Requests are submitted together with asyncio.gather, so they reach the batcher in the same
event-loop turn (the flush runs one turn later): which requests share a run is
deterministic, and every test checks it through the batch sizes the batcher reports.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import numpy as np
import pytest
from onnx import TensorProto, helper

from serving.batching import Batcher, BatchSettings, TaskCount
from serving.dataplane import DataPlane
from serving.errors import ServingError
from serving.model import OnnxModel, session_options
from serving.rest import ApiSettings, RestApi
from serving.types import InferenceRequest, NamedTensor


def graph_model(
    nodes: list[Any], inputs: list[Any], outputs: list[Any], initializers: Sequence[Any] = ()
) -> OnnxModel:
    graph = helper.make_graph(nodes, "m", inputs, outputs, list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return OnnxModel.from_bytes("m", "1", model.SerializeToString())


def float_tensor(name: str, shape: Sequence[int | str]) -> Any:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape))


def add_model() -> OnnxModel:
    """sum = x + y, both [N, 3]: a mismatch of their rows only shows when it runs."""
    node = helper.make_node("Add", ["x", "y"], ["sum"])
    return graph_model([node], [float_tensor("x", ["N", 3]), float_tensor("y", ["N", 3])],
                       [float_tensor("sum", ["N", 3])])  # fmt: skip


def reduce_sum_model(axis: int, output_shape: list[int | str]) -> OnnxModel:
    """total = ReduceSum(x, axis), x [N, W] (free width)."""
    node = helper.make_node("ReduceSum", ["x", "axes"], ["total"], keepdims=int(axis == 0))
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [axis])
    return graph_model([node], [float_tensor("x", ["N", "W"])],
                       [float_tensor("total", output_shape)], [axes])  # fmt: skip


def row_sum_model() -> OnnxModel:
    """One sum per row: total [N]."""
    return reduce_sum_model(1, ["N"])


def column_sum_model() -> OnnxModel:
    """Column sums, declared [M, W]: one row whatever the batch (outputs not per row)."""
    return reduce_sum_model(0, ["M", "W"])


class Recorder:
    """A batcher on a real model that records the rows of every onnxruntime run."""

    def __init__(
        self, model: OnnxModel, settings: BatchSettings, others_under_way: bool = True
    ) -> None:
        self.runs: list[int] = []
        self.pool = ThreadPoolExecutor(2)
        self.batcher = Batcher(
            model, self.pool, settings, self.runs.append, lambda: others_under_way
        )

    def run_together(self, feeds: Sequence[dict[str, np.ndarray]]) -> list[Any]:
        """Submit every request in the same loop turn; results or raised errors, in order."""

        async def submit() -> list[Any]:
            outputs = self.batcher.model._output_names
            calls = [self.batcher.run(feed, outputs) for feed in feeds]
            return await asyncio.gather(*calls, return_exceptions=True)

        return asyncio.run(submit())


@pytest.fixture
def recorder() -> Iterator[Callable[..., Recorder]]:
    made: list[Recorder] = []

    def make(model: OnnxModel, others_under_way: bool = True, **settings: Any) -> Recorder:
        made.append(Recorder(model, BatchSettings(**settings), others_under_way))
        return made[-1]

    yield make
    for each in made:
        each.pool.shutdown()


@pytest.fixture
def cnn_like(mnist_model_bytes: bytes) -> OnnxModel:
    return OnnxModel.from_bytes("mnist", "1", mnist_model_bytes)


def images(count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((count, 28, 28), dtype=np.float32)


@pytest.mark.parametrize("inline_max_rows", [64, 1], ids=["on-the-loop", "on-a-thread"])
def test_batching_returns_each_request_its_own_rows(
    recorder: Callable[..., Recorder], cnn_like: OnnxModel, inline_max_rows: int
) -> None:
    rec = recorder(cnn_like, inline_max_rows=inline_max_rows)
    batches = [images(1, seed) for seed in range(6)] + [images(3, 99)]
    results = rec.run_together([{"x": batch} for batch in batches])
    assert rec.runs == [9]
    for batch, (probabilities,) in zip(batches, results, strict=True):
        alone = cnn_like.run({"x": batch}, ["probabilities"])[0]
        assert probabilities.shape == (len(batch), 10)
        np.testing.assert_allclose(probabilities, alone, rtol=1e-5, atol=1e-6)


def test_batching_respects_max_batch_size(
    recorder: Callable[..., Recorder], cnn_like: OnnxModel
) -> None:
    rec = recorder(cnn_like, max_batch_size=4)
    results = rec.run_together([{"x": images(1, seed)} for seed in range(10)])
    assert rec.runs == [4, 4, 2]
    assert all(result[0].shape == (1, 10) for result in results)


def test_batching_request_of_max_rows_runs_alone(
    recorder: Callable[..., Recorder], cnn_like: OnnxModel
) -> None:
    rec = recorder(cnn_like, max_batch_size=4)
    results = rec.run_together([{"x": images(1)}, {"x": images(4)}, {"x": images(1)}])
    assert sorted(rec.runs) == [2, 4]
    assert [result[0].shape[0] for result in results] == [1, 4, 1]


def test_batching_off_when_max_batch_size_is_one(
    recorder: Callable[..., Recorder], cnn_like: OnnxModel
) -> None:
    rec = recorder(cnn_like, max_batch_size=1)
    rec.run_together([{"x": images(1, seed)} for seed in range(3)])
    assert rec.runs == [1, 1, 1]


def test_batching_bad_request_fails_alone(recorder: Callable[..., Recorder]) -> None:
    model = add_model()
    rec = recorder(model)
    good = [{"x": np.full((1, 3), i, np.float32), "y": np.ones((1, 3), np.float32)}
            for i in range(3)]  # fmt: skip
    bad = {"x": np.zeros((2, 3), np.float32), "y": np.zeros((3, 3), np.float32)}
    results = rec.run_together([good[0], bad, good[1], good[2]])
    assert rec.runs == [5]  # one stacked attempt (rows of x), then each request alone
    assert isinstance(results[1], ServingError)
    for feed, result in zip(good, [results[0], *results[2:]], strict=True):
        np.testing.assert_array_equal(result[0], feed["x"] + 1)


def test_batching_keeps_requests_of_other_widths_apart(recorder: Callable[..., Recorder]) -> None:
    rec = recorder(row_sum_model())
    feeds = [{"x": np.ones((1, 4), np.float32)}, {"x": np.ones((2, 5), np.float32)},
             {"x": np.ones((1, 4), np.float32)}]  # fmt: skip
    results = rec.run_together(feeds)
    assert sorted(rec.runs) == [2, 2]
    assert [result[0].tolist() for result in results] == [[4.0], [5.0, 5.0], [4.0]]


def test_batching_outputs_not_per_row_fall_back_to_single_runs(
    recorder: Callable[..., Recorder],
) -> None:
    rec = recorder(column_sum_model())
    feeds = [{"x": np.full((2, 3), value, np.float32)} for value in (1.0, 10.0)]
    results = rec.run_together(feeds)
    assert [result[0].tolist() for result in results] == [[[2.0] * 3], [[20.0] * 3]]


def test_batching_model_without_free_batch_dimension_runs_alone(
    recorder: Callable[..., Recorder],
) -> None:
    node = helper.make_node("Relu", ["x"], ["y"])
    model = graph_model([node], [float_tensor("x", [1, 3])], [float_tensor("y", [1, 3])])
    rec = recorder(model)
    rec.run_together([{"x": np.full((1, 3), -1.0, np.float32)}] * 3)
    assert rec.runs == [1, 1, 1]


def test_batching_max_batch_time_waits_for_a_later_request(
    recorder: Callable[..., Recorder], cnn_like: OnnxModel
) -> None:
    rec = recorder(cnn_like, max_batch_time=0.5)

    async def staggered() -> list[Any]:
        first = asyncio.ensure_future(rec.batcher.run({"x": images(1)}, ["probabilities"]))
        await asyncio.sleep(0.01)
        second = rec.batcher.run({"x": images(2, 1)}, ["probabilities"])
        return await asyncio.gather(first, second)

    results = asyncio.run(staggered())
    assert rec.runs == [3]
    assert [result[0].shape for result in results] == [(1, 10), (2, 10)]


def test_batching_cancelled_request_leaves_the_others_their_results(
    recorder: Callable[..., Recorder], cnn_like: OnnxModel
) -> None:
    rec = recorder(cnn_like)

    async def one_cancelled() -> list[Any]:
        calls = [asyncio.ensure_future(rec.batcher.run({"x": images(1, seed)}, ["probabilities"]))
                 for seed in range(3)]  # fmt: skip
        await asyncio.sleep(0)  # every request is queued
        calls[1].cancel()
        return await asyncio.gather(*calls, return_exceptions=True)

    results = asyncio.run(one_cancelled())
    assert isinstance(results[1], asyncio.CancelledError)
    assert results[0][0].shape == results[2][0].shape == (1, 10)


def test_batching_selected_outputs_per_request(recorder: Callable[..., Recorder]) -> None:
    nodes = [helper.make_node("Relu", ["x"], ["pos"]), helper.make_node("Neg", ["x"], ["neg"])]
    model = graph_model(nodes, [float_tensor("x", ["N", 2])],
                        [float_tensor("pos", ["N", 2]), float_tensor("neg", ["N", 2])])  # fmt: skip
    rec = recorder(model)
    x = np.array([[1.0, -2.0]], np.float32)

    async def submit() -> list[Any]:
        return await asyncio.gather(rec.batcher.run({"x": x}, ["neg"]),
                                    rec.batcher.run({"x": x}, ["pos", "neg"]))  # fmt: skip

    first, second = asyncio.run(submit())
    assert rec.runs == [2]
    assert [a.tolist() for a in first] == [[[-1.0, 2.0]]]
    assert [a.tolist() for a in second] == [[[1.0, 0.0]], [[-1.0, 2.0]]]


def test_infer_concurrent_requests_each_get_their_answer(
    dataplane: DataPlane, infer_body: Callable[..., dict[str, Any]]
) -> None:
    """Through the REST app: concurrent JSON requests, stacked, the right rows for each."""
    model = dataplane.repository.get("mnist")
    app = RestApi(dataplane, ApiSettings())
    batches = [images(1, seed) for seed in range(8)]

    async def post_all() -> list[httpx.Response]:
        dataplane.tasks.start()  # what the server's start-up does
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://serving") as client:
            posts = [client.post("/v2/models/mnist/infer", json=infer_body(batch, id=str(i)))
                     for i, batch in enumerate(batches)]  # fmt: skip
            return await asyncio.gather(*posts)

    responses = asyncio.run(post_all())
    for i, (batch, response) in enumerate(zip(batches, responses, strict=True)):
        assert response.status_code == 200, response.text
        assert response.json()["id"] == str(i)
        answer = np.asarray(response.json()["outputs"][0]["data"], np.float32).reshape(1, 10)
        expected = model.run({"x": batch}, ["probabilities"])[0]
        np.testing.assert_allclose(answer, expected, rtol=1e-5, atol=1e-6)
    metrics = dataplane.metrics.render().decode()
    assert 'serving_inference_batch_rows_count{model="mnist"} 1.0' in metrics


def test_infer_bad_request_among_concurrent_ones_fails_alone(dataplane: DataPlane) -> None:
    """A request refused by the model's checks fails with 400; the one beside it is served."""
    bad = InferenceRequest([NamedTensor("x", np.zeros((1, 27, 28), np.float32))])
    good = InferenceRequest([NamedTensor("x", images(1))])

    async def submit() -> list[Any]:
        calls = [dataplane.infer("mnist", None, good), dataplane.infer("mnist", None, bad)]
        return await asyncio.gather(*calls, return_exceptions=True)

    ok, error = asyncio.run(submit())
    assert ok.outputs[0].array.shape == (1, 10)
    assert isinstance(error, ServingError)
    assert error.status == 400


def finishes_without_waiting(call: Any) -> Any:
    """Drive a coroutine one step: its result if it never waited on the event loop, else None."""
    try:
        call.send(None)
    except StopIteration as done:
        return done.value
    call.close()
    return None


def test_batching_lone_request_runs_at_once(cnn_like: OnnxModel) -> None:
    """With no other request under way a request runs without waiting a loop turn."""
    tasks = TaskCount()

    async def lone_then_with_company() -> tuple[Any, Any]:
        tasks.start()
        batcher = Batcher(cnn_like, ThreadPoolExecutor(1), BatchSettings(),
                          others_under_way=tasks.others_under_way)  # fmt: skip
        lone = finishes_without_waiting(batcher.run({"x": images(1)}, ["probabilities"]))
        other = asyncio.ensure_future(asyncio.sleep(0))  # a request read, not yet started
        with_company = finishes_without_waiting(batcher.run({"x": images(1)}, ["probabilities"]))
        await other
        return lone, with_company

    lone, with_company = asyncio.run(lone_then_with_company())
    assert lone[0].shape == (1, 10)
    assert with_company is None  # queued for the next loop turn


def test_task_count_lowers_to_the_fewest_seen() -> None:
    tasks = TaskCount()

    async def count() -> list[bool]:
        helper_task = asyncio.ensure_future(asyncio.sleep(0))
        seen = [tasks.others_under_way()]  # first look: 2 tasks, taken as the floor
        await helper_task
        seen.append(tasks.others_under_way())  # 1 task: the floor drops
        extra = asyncio.ensure_future(asyncio.sleep(0))
        seen.append(tasks.others_under_way())
        await extra
        return seen

    assert asyncio.run(count()) == [False, False, True]


def test_model_large_session_has_its_own_threads_and_same_answers(
    mnist_model_bytes: bytes,
) -> None:
    model = OnnxModel.from_bytes("mnist", "1", mnist_model_bytes, threads=1, large_threads=2)
    batch = images(100)
    small = model.run({"x": batch}, ["probabilities"])[0]
    large = model.run({"x": batch}, ["probabilities"], large=True)[0]
    assert model.large_session is not model.session
    np.testing.assert_allclose(large, small, rtol=1e-5, atol=1e-6)


def test_intra_op_threads_stop_spinning_when_a_run_ends() -> None:
    """Spinning on, they would hold a core the event loop and the clients need."""
    key = "session.force_spinning_stop"
    assert session_options(2).get_session_config_entry(key) == "1"
    assert session_options(2, spin_between_runs=True).get_session_config_entry(key) == "0"


def test_model_one_session_when_thread_counts_agree(mnist_model_bytes: bytes) -> None:
    model = OnnxModel.from_bytes("mnist", "1", mnist_model_bytes, threads=1, large_threads=1)
    assert model.large_session is model.session


@pytest.mark.parametrize(
    ("others_under_way", "on_the_loop"), [(True, False), (False, True)], ids=["busy", "alone"]
)
def test_batching_large_request_runs_on_a_worker_thread_unless_alone(
    recorder: Callable[..., Recorder], mnist_model_bytes: bytes, others_under_way: bool,
    on_the_loop: bool,
) -> None:  # fmt: skip
    """A big run leaves the event loop free for other requests; alone, it saves the hop."""
    model = OnnxModel.from_bytes("mnist", "1", mnist_model_bytes, threads=1, large_threads=2)
    rec = recorder(model, others_under_way, inline_max_rows=8)
    threads: list[tuple[threading.Thread, bool]] = []
    run = model.run

    def recording_run(feeds: Any, output_names: list[str], large: bool = False) -> Any:
        threads.append((threading.current_thread(), large))
        return run(feeds, output_names, large)

    model.run = recording_run  # type: ignore[method-assign]
    batch = images(40)
    (result,) = rec.run_together([{"x": batch}])
    assert rec.runs == [40]
    ((thread, large),) = threads
    assert large, "the session for large runs"
    assert (thread is threading.current_thread()) == on_the_loop
    expected = run({"x": batch}, ["probabilities"])[0]
    np.testing.assert_allclose(result[0], expected, rtol=1e-5, atol=1e-6)
