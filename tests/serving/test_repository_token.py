"""The repository token over real processes: a load or unload without the right bearer token
changes nothing on the server, and a controller holding a wrong token loads nothing and says
why once. (Every route × every wrong header in process: test_repository_api.py.)"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from stack_calls import AUTH, ZEROS_REQUEST, create_service, served_version, serves

pytestmark = pytest.mark.server

WRONG_AUTHORIZATIONS = [None, "Bearer wrong", "test-token", "Basic dGVzdC10b2tlbg==",
                        "Bearer test-token-and-more", "Bearer  test-token"]  # fmt: skip


def headers_of(authorization: str | None) -> dict[str, str]:
    return {"Authorization": authorization} if authorization else {}


def repository_index(url: str) -> dict[str, Any]:
    rows = httpx.post(f"{url}/v2/repository/index", headers=AUTH).json()
    return {row["name"]: row for row in rows}


def test_load_without_the_right_token_is_401_and_loads_nothing(
    serving_server: str, s3_upload: Callable[[str, bytes], str], mnist_model_bytes: bytes
) -> None:
    body = {"parameters": {"uri": s3_upload("model.onnx", mnist_model_bytes), "version": "2"}}
    for authorization in WRONG_AUTHORIZATIONS:
        response = httpx.post(f"{serving_server}/v2/repository/models/digits/load", json=body,
                              headers=headers_of(authorization))  # fmt: skip
        assert response.status_code == 401, authorization
        assert response.headers["www-authenticate"] == "Bearer"
    assert repository_index(serving_server) == {}
    infer = httpx.post(f"{serving_server}/v2/models/digits/infer", json=ZEROS_REQUEST)
    assert infer.status_code == 404
    loaded = httpx.post(f"{serving_server}/v2/repository/models/digits/load", json=body,
                        headers=AUTH)  # fmt: skip
    assert loaded.status_code == 200, loaded.text


def test_unload_without_the_right_token_is_401_and_keeps_serving(
    serving_server: str, s3_upload: Callable[[str, bytes], str], mnist_model_bytes: bytes
) -> None:
    body = {"parameters": {"uri": s3_upload("model.onnx", mnist_model_bytes)}}
    url = f"{serving_server}/v2/repository/models/digits"
    assert httpx.post(f"{url}/load", json=body, headers=AUTH).status_code == 200
    for authorization in WRONG_AUTHORIZATIONS:
        response = httpx.post(f"{url}/unload", headers=headers_of(authorization))
        assert response.status_code == 401, authorization
    assert repository_index(serving_server)["digits"]["state"] == "READY"
    infer = httpx.post(f"{serving_server}/v2/models/digits/infer", json=ZEROS_REQUEST)
    assert infer.status_code == 200


def test_controller_with_a_wrong_serving_token_loads_nothing_and_says_so_once(
    serving_stack: Any, publisher: Any, mnist_model_bytes: bytes, wait_until: Callable[..., Any]
) -> None:
    serving_stack.env["SERVING_AUTH_TOKEN"] = "not-the-token"
    serving_stack.stop("controller")
    serving_stack.start("controller")  # the server keeps its token: only the controller's changed
    publisher.publish("MNIST", "v1", mnist_model_bytes)
    service = create_service(serving_stack, "guarded", publisher.models["MNIST"])
    refusal = "inference server: repository index failed: the repository API needs"
    wait_until(lambda: refusal in serving_stack.log("controller"), what="refusal logged")
    time.sleep(3.0)  # three more passes (interval 1 s), each refused again
    assert serving_stack.log("controller").count(refusal) == 1
    assert repository_index(serving_stack.serving_url) == {}
    assert served_version(serving_stack, "guarded") is None
    assert serves(serving_stack, service) == []
