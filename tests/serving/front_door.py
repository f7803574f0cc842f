"""Probes of the inference server's front door, as an attacker sends them, with what they cost.

Used by tests/serving/test_front_door.py against a real server process, and runnable alone
against any server (the figures in docs/reliability.md come from this):

    python tests/serving/front_door.py --url http://127.0.0.1:8008 --pid <server pid>
"""

from __future__ import annotations

import argparse
import select
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np
import orjson
import psutil

CHUNK = 64 * 1024


@dataclass
class Answer:
    """What a raw request got: the status (0: none), the body, bytes sent, whether closed."""

    status: int = 0
    body: bytes = b""
    sent: int = 0
    closed: bool = False

    def error(self) -> str:
        return str(orjson.loads(self.body)["error"])


def connect(url: str, timeout: float = 10.0) -> socket.socket:
    parts = urlsplit(url)
    return socket.create_connection((parts.hostname, parts.port), timeout=timeout)


def read_answer(sock: socket.socket, wait: float) -> Answer:
    """The response on `sock` (status, body), waiting up to `wait` seconds for it."""
    sock.settimeout(wait)
    data = b""
    try:
        while b"\r\n\r\n" not in data or len(data) < expected_length(data):
            chunk = sock.recv(CHUNK)
            if not chunk:
                return parsed(data, closed=True)
            data += chunk
    except (TimeoutError, ConnectionResetError):
        return parsed(data, closed=False)
    return parsed(data, closed=closed_soon(sock))


def expected_length(data: bytes) -> int:
    head, _, _ = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(head) + 4 + int(value)
    return len(head) + 4


def parsed(data: bytes, closed: bool) -> Answer:
    if not data.startswith(b"HTTP/1.1 "):
        return Answer(closed=closed)
    head, _, body = data.partition(b"\r\n\r\n")
    return Answer(int(head.split(b" ")[1]), body, closed=closed)


def closed_soon(sock: socket.socket, wait: float = 5.0) -> bool:
    """Whether the server closes (or half-closes) the connection within `wait` seconds."""
    sock.settimeout(wait)
    try:
        while sock.recv(CHUNK):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return True


def flood(url: str, head: bytes, filler: bytes, limit: int) -> Answer:
    """Send `head`, then `filler` repeated up to `limit` bytes, stopping as soon as the server
    answers or stops taking bytes; the answer and how many bytes went out before it."""
    sent = 0
    with connect(url) as sock:
        sock.sendall(head)
        sent += len(head)
        while sent < limit and not select.select([sock], [], [], 0)[0]:
            try:
                sock.sendall(filler)
            except OSError:
                break
            sent += len(filler)
        answer = read_answer(sock, wait=5.0)
    answer.sent = sent
    return answer


def long_url(url: str, size: int) -> Answer:
    return flood(url, b"GET /v2/health/live?q=", b"a" * CHUNK, size)


def large_headers(url: str, size: int) -> Answer:
    """One header whose value never ends (up to `size` bytes)."""
    return flood(url, b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\nX-Big: ", b"b" * CHUNK, size)


def many_headers(url: str, count: int) -> Answer:
    lines = b"".join(b"X-H%d: v\r\n" % i for i in range(count))
    return flood(url, b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\n" + lines + b"\r\n", b"", 0)


def half_requests(url: str, count: int, with_body: bool) -> list[socket.socket]:
    """`count` connections each holding half a request: half the headers, or the head and
    half of a declared body."""
    half_head = b"POST /v2/models/mnist/infer HTTP/1.1\r\nHost: x\r\nContent-Type: appl"
    head_and_half_body = (b"POST /v2/models/mnist/infer HTTP/1.1\r\nHost: x\r\n"
                          b"Content-Length: 1000\r\n\r\n" + b"{" * 500)  # fmt: skip
    sockets = []
    for _ in range(count):
        sock = connect(url)
        sock.sendall(head_and_half_body if with_body else half_head)
        sockets.append(sock)
    return sockets


def still_open(sockets: list[socket.socket]) -> int:
    """How many of `sockets` the server has not closed (nothing to read, no EOF)."""
    open_count = 0
    for sock in sockets:
        readable = select.select([sock], [], [], 0)[0]
        open_count += not readable
    return open_count


def json_infer_body(images: np.ndarray) -> bytes:
    tensor = {"name": "x", "shape": list(images.shape), "datatype": "FP32",
              "data": images.ravel().tolist()}  # fmt: skip
    return orjson.dumps({"inputs": [tensor]})


def images_for_body(size: int, seed: int = 0) -> np.ndarray:
    """Random float32 images [N,28,28] whose JSON infer body is just under `size` bytes."""
    rng = np.random.default_rng(seed)
    count = max(1, size // (784 * 20))
    images = rng.random((count, 28, 28), dtype=np.float32)
    while len(json_infer_body(images)) > size:
        images = images[: int(len(images) * 0.95)]
    return images


@dataclass
class Sampler:
    """Health-check latencies and the server's peak RSS, sampled while something runs."""

    url: str
    pid: int
    latencies: list[float] = field(default_factory=list)
    rss: list[int] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run_health(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self.stop.is_set():
                started = time.perf_counter()
                client.get(f"{self.url}/v2/health/live")
                self.latencies.append(time.perf_counter() - started)
                time.sleep(0.02)

    def run_rss(self) -> None:
        process = psutil.Process(self.pid)
        while not self.stop.is_set():
            self.rss.append(process.memory_info().rss)
            time.sleep(0.005)

    def summary(self, baseline: int) -> dict[str, float]:
        latencies = self.latencies or [0.0]
        return {"health_p50_ms": statistics.median(latencies) * 1000,
                "health_max_ms": max(latencies) * 1000, "health_checks": len(self.latencies),
                "rss_growth_mib": (max(self.rss, default=baseline) - baseline) / 2**20}  # fmt: skip


@contextmanager
def sampling(url: str, pid: int) -> Iterator[Sampler]:
    sampler = Sampler(url, pid)
    threads = [
        threading.Thread(target=sampler.run_health),
        threading.Thread(target=sampler.run_rss),
    ]
    for thread in threads:
        thread.start()
    try:
        yield sampler
    finally:
        sampler.stop.set()
        for thread in threads:
            thread.join()


def rss_of(pid: int) -> int:
    return int(psutil.Process(pid).memory_info().rss)


def large_json_infer(url: str, pid: int, body: bytes, parallel: int = 1) -> dict[str, Any]:
    """Send `body` (`parallel` times at once) while sampling health and RSS."""
    baseline = rss_of(pid)
    statuses: list[int] = []

    def send() -> None:
        response = httpx.post(f"{url}/v2/models/mnist/infer", content=body, timeout=120,
                              headers={"Content-Type": "application/json"})  # fmt: skip
        statuses.append(response.status_code)

    with sampling(url, pid) as sampler:
        started = time.perf_counter()
        senders = [threading.Thread(target=send) for _ in range(parallel)]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
        elapsed = time.perf_counter() - started
    figures = sampler.summary(baseline)
    return {**figures, "statuses": statuses, "seconds": elapsed,
            "body_mib": len(body) / 2**20}  # fmt: skip


def refused_loads(url: str, token: str, count: int) -> dict[str, Any]:
    """`count` loads of new names whose artifact does not exist: index size before/after."""
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=auth, timeout=30) as client:
        before = client.post("/v2/repository/index").content
        statuses = [client.post(f"/v2/repository/models/refused-{i}/load",
                                json={"parameters": {"uri": f"s3://models/none/{i}.onnx"}}
                                ).status_code for i in range(count)]  # fmt: skip
        after = client.post("/v2/repository/index").content
    return {"statuses": sorted(set(statuses)), "entries_before": len(orjson.loads(before)),
            "entries_after": len(orjson.loads(after)), "index_bytes_after": len(after)}  # fmt: skip


def small_probes(url: str) -> dict[str, Any]:
    """Status (and Allow) of the small attacks: absurd shapes, booleans, a wrong method."""
    infer = f"{url}/v2/models/mnist/infer"
    tensors = {"65 dims": {"shape": [1] * 65, "data": [0.5]},
               "[0, 2^62, 2^62]": {"shape": [0, 2**62, 2**62], "data": []},
               "FP32 true": {"shape": [1, 28, 28], "data": [True] + [0.5] * 783}}  # fmt: skip
    found: dict[str, Any] = {}
    for name, tensor in tensors.items():
        body = {"inputs": [{"name": "x", "datatype": "FP32", **tensor}]}
        found[name] = httpx.post(infer, json=body).status_code
    wrong_method = httpx.get(infer)
    found["GET infer"] = (wrong_method.status_code, wrong_method.headers.get("allow"))
    return found


def probe(url: str, pid: int, token: str) -> None:
    """Every attack once, with its figures printed (the 'before/after' of docs/reliability.md)."""
    for name, attack in [("URL 16 MiB", lambda: long_url(url, 16 << 20)),
                         ("one header 16 MiB", lambda: large_headers(url, 16 << 20)),
                         ("20k headers", lambda: many_headers(url, 20_000))]:  # fmt: skip
        baseline = rss_of(pid)
        with sampling(url, pid) as sampler:
            answer = flood_result(attack)
        print(name, answer, sampler.summary(baseline))
    for with_body in (False, True):
        sockets = half_requests(url, 40, with_body)
        time.sleep(40)
        print(
            "40 half requests",
            "body" if with_body else "head",
            "open after 40 s:",
            still_open(sockets),
        )
        for sock in sockets:
            sock.close()
    body = json_infer_body(images_for_body(60 << 20))
    print("60 MiB JSON infer", large_json_infer(url, pid, body))
    print("4 x 60 MiB JSON infer", large_json_infer(url, pid, body, parallel=4))
    print("300 refused loads", refused_loads(url, token, 300))
    print("small probes", small_probes(url))


def flood_result(attack: Any) -> str:
    answer = attack()
    return (
        f"status {answer.status} after {answer.sent / 2**20:.2f} MiB sent, closed {answer.closed}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--token", default="")
    arguments = parser.parse_args()
    probe(arguments.url, arguments.pid, arguments.token)
