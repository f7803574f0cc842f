"""A gRPC call occupies several asyncio tasks (grpc.aio): the batcher counts them as one
request, so a lone call runs at once and concurrent ones still stack."""

from __future__ import annotations

import asyncio

from serving.batching import REQUEST_TASKS, TaskCount
from serving.grpc_api import GRPC_CALL_TASKS


async def call_tasks(tasks: TaskCount, calls: int, declared: bool) -> bool:
    """What `others_under_way` says inside one of `calls` simulated gRPC calls."""
    helpers = [asyncio.ensure_future(asyncio.sleep(0))
               for _ in range(calls * GRPC_CALL_TASKS - 1)]  # fmt: skip
    if declared:
        REQUEST_TASKS.set(GRPC_CALL_TASKS)
    answer = tasks.others_under_way()
    await asyncio.gather(*helpers)
    return answer


def seen_by_call(calls: int, declared: bool) -> bool:
    async def run() -> bool:
        tasks = TaskCount()
        tasks.start()  # the server's own tasks: this one
        return await asyncio.ensure_future(call_tasks(tasks, calls, declared))

    return asyncio.run(run())


def test_a_lone_grpc_call_is_alone() -> None:
    assert seen_by_call(1, declared=True) is False


def test_concurrent_grpc_calls_see_each_other() -> None:
    assert seen_by_call(2, declared=True) is True


def test_an_undeclared_grpc_call_looks_accompanied() -> None:
    """What the batcher believed before the gRPC front end declared its tasks."""
    assert seen_by_call(1, declared=False) is True


def test_the_declaration_stays_in_its_call() -> None:
    async def grpc_call() -> int:
        REQUEST_TASKS.set(GRPC_CALL_TASKS)
        return REQUEST_TASKS.get()

    async def run() -> tuple[int, int]:
        inside = await asyncio.ensure_future(grpc_call())
        return inside, REQUEST_TASKS.get()

    assert asyncio.run(run()) == (GRPC_CALL_TASKS, 1)
