"""The controller refuses an ARCHIVED version, and one whose artifact bytes were cleaned up.

The registry accepts an InferenceService on any version (upstream's does too); the page
refuses to deploy an archived one, and the controller records FAILED with the reason when
one is deployed through the API anyway (serving/README.md, "Archived versions").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from stack_calls import create_service, serve_records, served_version

pytestmark = pytest.mark.server

Wait = Callable[..., Any]


def set_version(stack: Any, version_id: str, **fields: Any) -> None:
    response = httpx.patch(f"{stack.api}/model_versions/{version_id}", json=fields)
    assert response.status_code == 200, response.text


def failed_reason(stack: Any, service_id: str, version_id: str) -> str | None:
    records = serve_records(stack, service_id)
    failed = [r for r in records if r["lastKnownState"] == "FAILED"
              and r["modelVersionId"] == version_id]  # fmt: skip
    return str(failed[-1]["description"]) if failed else None


def test_controller_records_failed_for_an_archived_version_and_serves_it_once_restored(
    serving_stack: Any, publisher: Any, mnist_model_bytes: bytes, wait_until: Wait
) -> None:
    version = publisher.publish("MNIST", "v1", mnist_model_bytes)
    set_version(serving_stack, version, state="ARCHIVED")
    service = create_service(serving_stack, "archived", publisher.models["MNIST"],
                             modelVersionId=version)  # fmt: skip
    reason = wait_until(lambda: failed_reason(serving_stack, service, version), what="FAILED")
    assert reason == f"model version {version} (v1) is ARCHIVED: restore it (state LIVE) " \
        "before deploying it"  # fmt: skip
    assert served_version(serving_stack, "archived") is None
    set_version(serving_stack, version, state="LIVE")
    assert wait_until(lambda: served_version(serving_stack, "archived"), timeout=30) == version


def test_controller_records_failed_for_a_version_whose_bytes_were_deleted(
    serving_stack: Any, publisher: Any, mnist_model_bytes: bytes, wait_until: Wait
) -> None:
    version = publisher.publish("MNIST", "v1", mnist_model_bytes)
    artifacts = httpx.get(f"{serving_stack.api}/model_versions/{version}/artifacts").json()
    deleted = {"bytes_deleted_at": {"metadataType": "MetadataStringValue",
                                    "string_value": "2026-12-06T12:00:00Z"}}  # fmt: skip
    artifact_id = artifacts["items"][0]["id"]
    httpx.patch(f"{serving_stack.api}/model_artifacts/{artifact_id}",
                json={"customProperties": deleted}).raise_for_status()  # fmt: skip
    service = create_service(serving_stack, "cleaned", publisher.models["MNIST"],
                             modelVersionId=version)  # fmt: skip
    reason = wait_until(lambda: failed_reason(serving_stack, service, version), what="FAILED")
    assert "were deleted at 2026-12-06T12:00:00Z by the artifact clean-up" in reason
