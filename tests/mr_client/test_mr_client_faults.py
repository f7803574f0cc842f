"""What the client says when there is no registry, or something else answers in its place."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mr_client import Refused, RegistryClient, RegistryUnavailable
from stack.proc import free_port

ANSWERS = {
    "/api/model_registry/v1alpha3/registered_models/1": (200, b"<html>a proxy page</html>"),
    "/api/model_registry/v1alpha3/registered_models/2": (200, b"[1, 2]"),
    "/api/model_registry/v1alpha3/registered_models/3": (503, b"upstream down"),
    "/api/model_registry/v1alpha3/registered_models/4": (400, b'{"message": "bad id"}'),
}


class NotARegistry(BaseHTTPRequestHandler):
    """Answers fixed bodies: what a misconfigured proxy or a wrong URL would send."""

    def do_GET(self) -> None:
        status, body = ANSWERS.get(self.path, (404, b"no such page"))
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        return


@pytest.fixture
def impostor() -> Iterator[RegistryClient]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), NotARegistry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with RegistryClient(f"http://127.0.0.1:{server.server_port}", timeout=5) as client:
            yield client
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_connection_refused_is_unavailable() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with RegistryClient(url, timeout=2) as registry:
        unreachable = f"registry unreachable at {url} \\(ConnectError: "
        with pytest.raises(RegistryUnavailable, match=unreachable):
            registry.registered_models()
        assert registry.healthy() is False


@pytest.mark.parametrize("model_id", ["1", "2"])
def test_body_not_a_json_object_is_refused(impostor: RegistryClient, model_id: str) -> None:
    with pytest.raises(Refused, match="the answer is not a JSON object") as caught:
        impostor.registered_model(model_id)
    assert caught.value.status == 200


def test_server_error_is_unavailable_with_status(impostor: RegistryClient) -> None:
    failed = r"registry failed to read registered model 3 \(HTTP 503: upstream down\)"
    with pytest.raises(RegistryUnavailable, match=failed) as caught:
        impostor.registered_model("3")
    assert caught.value.status == 503


def test_refusal_carries_the_registry_message(impostor: RegistryClient) -> None:
    refused = r"registry refused to read registered model 4 \(HTTP 400: bad id\)"
    with pytest.raises(Refused, match=refused):
        impostor.registered_model("4")


def test_missing_page_is_not_found_with_body_text(impostor: RegistryClient) -> None:
    assert impostor.find_registered_model("MNIST") is None
    assert impostor.healthy() is False


def test_healthy_registry(registry: RegistryClient) -> None:
    assert registry.healthy() is True
