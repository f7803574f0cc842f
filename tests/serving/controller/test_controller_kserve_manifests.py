"""KServe resources the controller generates: valid against the vendored CRD and Kubernetes
object rules, names and labels, status reading, update decisions; and the validator itself
catching broken resources. In process, no servers."""

from __future__ import annotations

import copy
import gzip
import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
from kserve_schema import (
    DNS1035_LABEL,
    VENDORED_CRD,
    VENDORED_CRD_SHA256,
    object_violations,
    schema_violations,
    violations,
)

from serving.controller.config import KSERVE_MODES, TARGET_SETTINGS, ControllerSettings
from serving.controller.kserve.resources import (
    MAX_NAME_LENGTH,
    Placement,
    ServedModel,
    endpoint_url,
    inference_service_resource,
    label_value,
    merge_patch,
    needs_update,
    resource_name,
    resource_state,
    update_patch,
)

GUIDE = Path(__file__).resolve().parents[3] / "docs" / "kubernetes.md"


def served(**changes: Any) -> ServedModel:
    values = {
        "service_id": "6",
        "service_name": "mnist-e2e",
        "registered_model_id": "2",
        "runtime": "mmserver1",
        "version_id": "4",
        "version_name": "v2",
        "model_format": "onnx",
        "model_format_version": "1",
        "storage_key": "aws-connection-models",
        "storage_path": "MNIST/v2",
        "storage_uri": "s3://models/MNIST/v2/model.onnx",
        **changes,
    }
    return ServedModel(**values)


def resource(mode: str = "ModelMesh", **changes: Any) -> dict[str, Any]:
    return inference_service_resource(
        served(**changes), Placement("mnist-model-registry", mode, "mnist-model-registry")
    )


VARIANTS = {
    "storage-key": {},
    "storage-uri": {"storage_key": None, "storage_path": None},
    "modelcar": {
        "storage_key": None,
        "storage_path": None,
        "storage_uri": f"oci://localhost:5000/mnist@sha256:{'ab' * 32}",
    },
    "no-format-version": {"model_format_version": None},
    "no-runtime": {"runtime": None},
    "odd-name": {"service_name": "My Digits_v2 (prod)!"},
    "long-ids": {"service_id": "9" * 40, "version_id": "1" * 70},
}


@pytest.mark.parametrize("mode", KSERVE_MODES)
@pytest.mark.parametrize("variant", VARIANTS, ids=str)
def test_generate_resource_valid_against_crd_and_object_rules(mode: str, variant: str) -> None:
    assert violations(resource(mode, **VARIANTS[variant])) == []


def test_generate_modelmesh_resource_has_the_seed_shape() -> None:
    assert resource() == {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": "mnist-e2e",
            "namespace": "mnist-model-registry",
            "labels": {
                "app.kubernetes.io/managed-by": "model-controller",
                "modelregistry.kubeflow.org/serving-environment": "mnist-model-registry",
                "modelregistry.kubeflow.org/inference-service-id": "6",
                "modelregistry.kubeflow.org/registered-model-id": "2",
                "modelregistry.kubeflow.org/model-version-id": "4",
            },
            "annotations": {
                "serving.kserve.io/deploymentMode": "ModelMesh",
                "modelregistry.kubeflow.org/inference-service-name": "mnist-e2e",
                "modelregistry.kubeflow.org/model-version-name": "v2",
                "modelregistry.kubeflow.org/spec-hash": resource()["metadata"]["annotations"][
                    "modelregistry.kubeflow.org/spec-hash"
                ],
            },
        },
        "spec": {
            "predictor": {
                "model": {
                    "modelFormat": {"name": "onnx", "version": "1"},
                    "runtime": "mmserver1",
                    "storage": {"key": "aws-connection-models", "path": "MNIST/v2"},
                }
            }
        },
    }


@pytest.mark.parametrize("mode", ["Serverless", "RawDeployment"])
def test_generate_kserve_mode_resource_speaks_open_inference_protocol(mode: str) -> None:
    generated = resource(mode, storage_key=None)
    assert generated["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == mode
    assert generated["spec"]["predictor"]["model"]["protocolVersion"] == "v2"
    assert (
        generated["spec"]["predictor"]["model"]["storageUri"] == "s3://models/MNIST/v2/model.onnx"
    )


def test_generate_storage_path_from_uri_when_artifact_has_only_a_key() -> None:
    storage = resource(storage_path=None)["spec"]["predictor"]["model"]["storage"]
    assert storage == {"key": "aws-connection-models", "path": "MNIST/v2/model.onnx"}


NAMES = [
    "mnist-e2e",
    "MNIST",
    "My Digits",
    "my_digits",
    "9lives",
    "---",
    "ü-model",
    "x" * 46,
    "a" * 200,
    "",
]


@pytest.mark.parametrize("name", NAMES)
def test_resource_name_is_a_short_dns_1035_label(name: str) -> None:
    generated = resource_name(name)
    assert len(generated) <= MAX_NAME_LENGTH
    assert DNS1035_LABEL.fullmatch(generated)
    assert resource_name(name) == generated


def test_resource_name_keeps_valid_names_and_separates_similar_ones() -> None:
    assert resource_name("mnist-e2e") == "mnist-e2e"
    assert (
        len({resource_name(name) for name in ["My Digits", "my-digits", "my_digits", "MY DIGITS"]})
        == 4
    )


@pytest.mark.parametrize(
    "name",
    ["victim/unload?", "victim/load?", "a/../victim", "victim/unload#", "victim%2Funload",
     "victim\n", "v\u0456ctim", "..", "v" * 254],
)  # fmt: skip
def test_resource_name_of_a_hostile_name_addresses_no_other_resource(name: str) -> None:
    """The Kubernetes client puts the name into the URL path: a DNS label has no `/?#%.`."""
    generated = resource_name(name)
    assert DNS1035_LABEL.fullmatch(generated)
    assert generated != resource_name("victim") == "victim"
    status = {"url": "http://isvc.example"}
    assert endpoint_url(status, generated) == f"http://isvc.example/v2/models/{generated}"


@pytest.mark.parametrize(
    "text", ["mnist-model-registry", "Local Env", "-x-", "é" * 10, "a" * 80, "12"]
)
def test_label_value_is_valid_and_stable(text: str) -> None:
    value = label_value(text)
    assert object_violations(resource(service_id=text)) == []
    assert len(value) <= 63
    assert label_value(text) == value


def drop_predictor(obj: dict[str, Any]) -> None:
    del obj["spec"]["predictor"]


def add_unknown_field(obj: dict[str, Any]) -> None:
    obj["spec"]["predictor"]["model"]["modelFormatName"] = "onnx"


def format_as_string(obj: dict[str, Any]) -> None:
    obj["spec"]["predictor"]["model"]["modelFormat"] = "onnx"


def drop_format_name(obj: dict[str, Any]) -> None:
    del obj["spec"]["predictor"]["model"]["modelFormat"]["name"]


def replicas_as_text(obj: dict[str, Any]) -> None:
    obj["spec"]["predictor"]["minReplicas"] = "one"


def port_out_of_int32(obj: dict[str, Any]) -> None:
    obj["spec"]["predictor"]["model"]["ports"] = [{"containerPort": 2**40}]


def duplicate_env_names(obj: dict[str, Any]) -> None:
    obj["spec"]["predictor"]["model"]["env"] = [{"name": "A", "value": "1"}, {"name": "A"}]


def quantity_as_list(obj: dict[str, Any]) -> None:
    obj["spec"]["predictor"]["model"]["resources"] = {"limits": {"cpu": ["1"]}}


SCHEMA_BREAKS = [
    drop_predictor,
    add_unknown_field,
    format_as_string,
    drop_format_name,
    replicas_as_text,
    port_out_of_int32,
    duplicate_env_names,
    quantity_as_list,
]


def test_validate_preserve_unknown_fields_allows_extra_status_fields() -> None:
    with_status = {**resource(), "status": {"url": "http://x", "vendorField": {"any": 1}}}
    assert schema_violations(with_status) == []
    with_status["status"]["modelStatus"] = {"transitionStatus": "UpToDate", "vendorField": 1}
    assert schema_violations(with_status) != []  # only status itself preserves unknown fields


def set_metadata(key: str, value: Any) -> Any:
    def breakage(obj: dict[str, Any]) -> None:
        obj["metadata"][key] = value

    breakage.__name__ = f"set_{key}_{re.sub(r'[^a-z0-9]+', '_', str(value).lower())[:20]}"
    return breakage


def add_label(key: str, value: str) -> Any:
    def breakage(obj: dict[str, Any]) -> None:
        obj["metadata"]["labels"][key] = value

    breakage.__name__ = f"label_{re.sub(r'[^a-z0-9]+', '_', key.lower())[:20]}"
    return breakage


OBJECT_BREAKS = [
    set_metadata("name", "My_Model"),
    set_metadata("name", "9lives"),
    set_metadata("name", "a" * 64),
    set_metadata("namespace", "Team A"),
    set_metadata("resourceVersion", "12"),
    set_metadata("uid", "x"),
    set_metadata("nickname", "x"),
    add_label("bad key!", "x"),
    add_label("Example.COM/x", "x"),
    add_label("example.com/" + "k" * 64, "x"),
    add_label("ok", "v" * 64),
    add_label("ok2", "-leading-dash"),
]


BREAKS = [
    *[pytest.param(schema_violations, b, id=f"schema-{b.__name__}") for b in SCHEMA_BREAKS],
    *[pytest.param(object_violations, b, id=f"object-{b.__name__}") for b in OBJECT_BREAKS],
]


@pytest.mark.parametrize(("violations", "breakage"), BREAKS)
def test_validate_broken_resource_reports_violation(violations: Any, breakage: Any) -> None:
    """A broken spec breaks the CRD schema; broken metadata breaks the object rules."""
    broken = resource()
    breakage(broken)
    assert violations(broken) != []


def test_validate_missing_namespace_and_status_in_manifest_are_violations() -> None:
    broken = resource()
    del broken["metadata"]["namespace"]
    broken["status"] = {"url": "http://x"}
    assert object_violations(broken) == [
        "metadata.namespace: missing",
        "status: set by KServe, not by us",
    ]


def test_vendored_crd_is_the_upstream_file_as_vendored() -> None:
    crd = gzip.decompress(VENDORED_CRD.read_bytes())
    assert hashlib.sha256(crd).hexdigest() == VENDORED_CRD_SHA256


def with_status(status: dict[str, Any], generation: int = 1) -> dict[str, Any]:
    obj = copy.deepcopy(resource())
    obj["metadata"]["generation"] = generation
    obj["status"] = status
    return obj


READY = [{"type": "Ready", "status": "True"}]
STATES = [
    ({}, (False, None, None)),
    (
        {"conditions": [{"type": "Ready", "status": "Unknown"}], "observedGeneration": 1},
        (False, None, None),
    ),
    (
        {
            "conditions": READY,
            "url": "grpc://mm:8033",
            "components": {"predictor": {"restUrl": "http://mm:8008"}},
        },
        (True, "http://mm:8008/v2/models/mnist-e2e", None),
    ),
    (
        {"conditions": READY, "url": "https://route.example/v2/models/mnist-e2e"},
        (True, "https://route.example/v2/models/mnist-e2e", None),
    ),
    (
        {"conditions": READY, "address": {"url": "http://mnist-e2e.ns.svc.cluster.local/"}},
        (True, "http://mnist-e2e.ns.svc.cluster.local/v2/models/mnist-e2e", None),
    ),
    ({"conditions": READY, "url": "grpc://mm:8033"}, (False, None, None)),
    (
        {
            "conditions": READY,
            "modelStatus": {
                "transitionStatus": "InvalidSpec",
                "lastFailureInfo": {"reason": "NoSupportingRuntime"},
            },
        },
        (False, None, "NoSupportingRuntime"),
    ),
    (
        {
            "modelStatus": {
                "transitionStatus": "InProgress",
                "states": {"activeModelState": "FailedToLoad"},
            }
        },
        (False, None, "model status InProgress"),
    ),
]


@pytest.mark.parametrize(("status", "expected"), STATES)
def test_read_status_ready_url_or_failure(
    status: dict[str, Any], expected: tuple[Any, ...]
) -> None:
    state = resource_state(with_status(status))
    assert (state.ready, state.url, state.failure) == expected


def test_read_status_of_an_older_generation_is_pending() -> None:
    stale = with_status(
        {"conditions": READY, "url": "http://x", "observedGeneration": 1}, generation=2
    )
    assert not resource_state(stale).ready
    assert not resource_state(
        with_status({"conditions": READY, "url": "http://x"}, generation=2)
    ).ready
    assert resource_state(
        with_status({"conditions": READY, "url": "http://x", "observedGeneration": 2}, 2)
    ).ready


def server_copy(obj: dict[str, Any]) -> dict[str, Any]:
    """What the API server returns: defaults added by KServe's webhook, server metadata."""
    stored = copy.deepcopy(obj)
    stored["metadata"].update(resourceVersion="7", uid="u", generation=1)
    stored["metadata"]["labels"]["kustomize.example/team"] = "vision"
    stored["spec"]["predictor"]["model"]["resources"] = {"limits": {"cpu": "1"}}
    return stored


def test_update_not_needed_for_server_defaults_but_for_changes() -> None:
    current = server_copy(resource())
    assert not needs_update(current, resource())
    assert needs_update(current, resource(version_id="5", storage_path="MNIST/v3"))
    assert needs_update(current, resource(model_format_version=None))


def test_update_patch_guards_resource_version_and_removes_dropped_fields() -> None:
    current = server_copy(resource())
    patch = update_patch(current, resource(storage_key=None))
    assert patch["metadata"]["resourceVersion"] == "7"
    assert patch["spec"] == {
        "predictor": {
            "model": {
                "storage": None,
                "resources": None,
                "storageUri": "s3://models/MNIST/v2/model.onnx",
            }
        }
    }


def test_merge_patch_round_trips() -> None:
    before = {"a": {"b": 1, "c": [1, 2]}, "d": 2}
    after = {"a": {"b": 2, "c": [1]}, "e": {"f": None}}
    assert merge_patch(before, after) == {"a": {"b": 2, "c": [1]}, "d": None, "e": {"f": None}}


def test_settings_target_flags_parse_and_refuse_bad_values(
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = ControllerSettings.from_args(
        ["--target", "KServe", "--dry-run", "--out", "/tmp/x"],
        {"KSERVE_DEPLOYMENT_MODE": "rawdeployment"},
    )
    assert (settings.target, settings.kserve_mode, settings.dry_run, settings.out) == (
        "kserve",
        "RawDeployment",
        True,
        "/tmp/x",
    )
    assert ControllerSettings.from_args(
        [], {"CONTROLLER_TARGET": "kserve", "CONTROLLER_DRY_RUN": "1"}
    ).dry_run
    for argv in (
        ["--target", "cluster"],
        ["--target", "kserve", "--kserve-mode", "knative"],
        ["--dry-run"],
    ):
        with pytest.raises(SystemExit):
            ControllerSettings.from_args(argv, {})
    assert "add --target kserve" in capsys.readouterr().err


@pytest.mark.parametrize("setting", TARGET_SETTINGS, ids=lambda s: s.name)
def test_settings_every_target_setting_is_documented(setting: Any) -> None:
    guide = GUIDE.read_text()
    assert setting.help
    assert f"`{setting.flag}`" in guide
    assert f"`{setting.env}`" in guide
