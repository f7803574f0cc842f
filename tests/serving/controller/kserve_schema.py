"""Offline checks of KServe InferenceService resources, as an API server would make them.

- `schema_violations`: the vendored CRD's openAPIV3Schema (deploy/crds/), made strict like
  `fieldValidation=Strict` (unknown fields are errors except under
  `x-kubernetes-preserve-unknown-fields`), with the Kubernetes extensions enforced:
  `x-kubernetes-int-or-string`, `x-kubernetes-list-type: set|map` (+ `list-map-keys`),
  `format: int32|int64`. `x-kubernetes-map-type` only steers merging: nothing to check.
- `object_violations`: what the API server checks outside the schema (ObjectMeta): names,
  namespace, label and annotation syntax; plus, for manifests we generate, no server-set field.
"""

from __future__ import annotations

import functools
import gzip
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from jsonschema import Draft7Validator, FormatChecker

REPO = Path(__file__).resolve().parents[3]
VENDORED_CRD = REPO / "deploy" / "crds" / "kserve-inferenceservices.crd.yaml.gz"
# sha256 of the uncompressed upstream file as vendored; refreshing the CRD updates it here.
VENDORED_CRD_SHA256 = "57c3bf13f77de94678bf2ae3748056ec071ad2b9e88d6a28f44fb4710758fcff"

DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
SERVER_SET = {
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
}
OBJECT_META = {
    "name",
    "generateName",
    "namespace",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    *SERVER_SET,
}
TOTAL_ANNOTATION_BYTES = 256 * 1024
INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


@functools.cache
def crd() -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return dict(yaml.load(gzip.decompress(VENDORED_CRD.read_bytes()), Loader=loader))  # noqa: S506


def strict(schema: Any) -> Any:
    """Copy of a structural schema where objects with `properties` refuse unknown fields."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {key: strict(value) for key, value in schema.items()}
    if (
        "properties" in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        result["additionalProperties"] = False
    if schema.get("x-kubernetes-list-type") == "set":
        result["uniqueItems"] = True
    return result


def list_map_keys(validator: Any, keys: list[str], instance: Any, schema: Any) -> Iterator[Any]:
    """`x-kubernetes-list-type: map`: no two items share the values of `keys`."""
    if schema.get("x-kubernetes-list-type") != "map" or not isinstance(instance, list):
        return
    seen: set[tuple[Any, ...]] = set()
    for item in instance:
        if isinstance(item, dict):
            identity = tuple(repr(item.get(key)) for key in keys)
            if identity in seen:
                entry = ", ".join(
                    f"{key}={value}" for key, value in zip(keys, identity, strict=True)
                )
                yield jsonschema.ValidationError(f"duplicate map-list entry {entry}")
            seen.add(identity)


def int_or_string(validator: Any, enabled: bool, instance: Any, schema: Any) -> Iterator[Any]:
    if enabled and (isinstance(instance, bool) or not isinstance(instance, int | str)):
        yield jsonschema.ValidationError(f"{instance!r} is neither an integer nor a string")


def format_checker() -> FormatChecker:
    checker = FormatChecker()
    for name, (low, high) in INT_RANGES.items():
        checker.checks(name)(
            lambda value, low=low, high=high: not isinstance(value, int) or low <= value <= high
        )
    return checker


KubernetesValidator = jsonschema.validators.extend(
    Draft7Validator,
    {"x-kubernetes-list-map-keys": list_map_keys, "x-kubernetes-int-or-string": int_or_string},
)


@functools.cache
def validator(version: str = "v1beta1") -> Any:
    found = next(v for v in crd()["spec"]["versions"] if v["name"] == version)
    return KubernetesValidator(
        strict(found["schema"]["openAPIV3Schema"]), format_checker=format_checker()
    )


def schema_violations(resource: dict[str, Any]) -> list[str]:
    """Where `resource` breaks the CRD's schema (empty when it is valid)."""
    errors = validator().iter_errors(resource)
    return [
        f"{'.'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
        for error in sorted(errors, key=lambda e: list(map(str, e.absolute_path)))
    ]


def qualified_key_violations(key: str, what: str) -> list[str]:
    """Label/annotation key: optional DNS-1123 subdomain prefix (<= 253) / name (<= 63)."""
    prefix, _, name = key.rpartition("/")
    problems = []
    if "/" in key and not (len(prefix) <= 253 and DNS1123_SUBDOMAIN.fullmatch(prefix)):
        problems.append(f"{what} key {key!r}: prefix is not a DNS-1123 subdomain")
    if not (0 < len(name) <= 63 and QUALIFIED_NAME.fullmatch(name)):
        problems.append(f"{what} key {key!r}: name part is not a qualified name (<= 63)")
    return problems


def label_violations(labels: Any) -> list[str]:
    if not isinstance(labels, dict):
        return ["labels: not a map"]
    problems = []
    for key, value in labels.items():
        problems += qualified_key_violations(str(key), "label")
        valid = (
            isinstance(value, str)
            and len(value) <= 63
            and (value == "" or QUALIFIED_NAME.fullmatch(value))
        )
        if not valid:
            problems.append(f"label {key!r}: value {value!r} is not a valid label value")
    return problems


def annotation_violations(annotations: Any) -> list[str]:
    if not isinstance(annotations, dict):
        return ["annotations: not a map"]
    problems = [p for key in annotations for p in qualified_key_violations(str(key), "annotation")]
    if any(not isinstance(value, str) for value in annotations.values()):
        problems.append("annotations: every value must be a string")
    size = sum(len(str(k)) + len(str(v)) for k, v in annotations.items())
    if size > TOTAL_ANNOTATION_BYTES:
        problems.append(f"annotations: {size} bytes, more than {TOTAL_ANNOTATION_BYTES}")
    return problems


def name_violations(metadata: dict[str, Any]) -> list[str]:
    name, namespace = metadata.get("name"), metadata.get("namespace")
    problems = []
    if not (isinstance(name, str) and len(name) <= 63 and DNS1035_LABEL.fullmatch(name)):
        problems.append(f"name {name!r}: not a DNS-1035 label (KServe's rule, <= 63)")
    if namespace is not None and not (
        isinstance(namespace, str) and len(namespace) <= 63 and DNS1123_LABEL.fullmatch(namespace)
    ):
        problems.append(f"namespace {namespace!r}: not a DNS-1123 label (<= 63)")
    return problems


def object_violations(resource: dict[str, Any], generated: bool = True) -> list[str]:
    """Kubernetes object rules; `generated`: a manifest we write (namespaced, no server fields)."""
    problems = []
    if (resource.get("apiVersion"), resource.get("kind")) != (
        "serving.kserve.io/v1beta1",
        "InferenceService",
    ):
        problems.append("not a serving.kserve.io/v1beta1 InferenceService")
    metadata = resource.get("metadata")
    if not isinstance(metadata, dict):
        return [*problems, "metadata: not a map"]
    problems += [f"metadata.{key}: unknown field" for key in metadata if key not in OBJECT_META]
    problems += name_violations(metadata)
    problems += label_violations(metadata.get("labels") or {})
    problems += annotation_violations(metadata.get("annotations") or {})
    if generated:
        problems += [f"metadata.{key}: set by the server" for key in SERVER_SET & set(metadata)]
        problems += ["metadata.namespace: missing"] if "namespace" not in metadata else []
        problems += ["status: set by KServe, not by us"] if "status" in resource else []
    return problems


def violations(resource: dict[str, Any]) -> list[str]:
    """Every problem of a generated manifest: schema and object rules."""
    return schema_violations(resource) + object_violations(resource)
