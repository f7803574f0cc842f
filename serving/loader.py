"""Loading a model: fetch it (S3 object, or OCI modelcar), verify, check it fits onnxruntime,
run its golden file.

Nothing here touches HTTP. `LoadSpec.from_parameters` reads the repository extension's
load `parameters` (see serving/README.md for the format); `ModelLoader.load` does every
check before the model can serve a single request.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import onnx
import orjson
from google.protobuf.message import DecodeError

from serving.artifacts import ArtifactStore
from serving.compat import domain_name, runtime_support
from serving.errors import BadRequest, LoadRefused
from serving.golden import GoldenCase, verify_golden
from serving.model import OnnxModel
from serving.oci import DIGEST, OciPuller
from serving.tensors import DATATYPES

log = logging.getLogger("serving")

SHA256 = re.compile(r"^[0-9a-f]{64}\Z")
SPEC_KEYS = ("uri", "version", "sha256", "digest", "golden_uri", "owner")
MODELCAR_MODEL = "model.onnx"
MODELCAR_GOLDEN = "golden.npz"
PROPERTY_KEYS = ("registered_model", "model_version_name")
IGNORED_KEYS = ("unload_dependents",)


@dataclass(frozen=True)
class LoadSpec:
    """What to load under a model name, and what it must satisfy."""

    uri: str
    version: str = "1"
    sha256: str | None = None
    golden_uri: str | None = None
    owner: str | None = None
    properties: dict[str, str] = field(default_factory=dict)
    digest: str | None = None

    @property
    def from_oci(self) -> bool:
        return self.uri.startswith("oci://")

    @classmethod
    def from_parameters(
        cls, parameters: Mapping[str, Any], previous: LoadSpec | None = None
    ) -> LoadSpec:
        """Read load parameters (a Triton-style `config` JSON string may carry them too).

        Without a `uri`, the previous load's spec is reused (Triton's "reload").
        """
        values = merged_parameters(parameters)
        if "uri" not in values:
            if previous is None:
                raise BadRequest(
                    "load needs the parameter 'uri' (s3://bucket/key or oci://image of the model)"
                )
            return previous
        sha256 = values.get("sha256")
        if sha256 is not None and not SHA256.match(sha256.lower()):
            raise BadRequest("parameter 'sha256' must be 64 hexadecimal digits")
        digest = image_digest(values)
        return cls(
            uri=values["uri"],
            version=values.get("version", "1"),
            sha256=sha256.lower() if sha256 else None,
            golden_uri=values.get("golden_uri"),
            owner=values.get("owner"),
            properties={key: values[key] for key in PROPERTY_KEYS if key in values},
            digest=digest,
        )


def image_digest(values: Mapping[str, str]) -> str | None:
    """The `digest` parameter: a manifest digest, and only for an oci:// image."""
    digest = values.get("digest")
    if digest is None:
        return None
    if not DIGEST.match(digest):
        raise BadRequest("parameter 'digest' must be sha256:<64 hexadecimal digits>")
    if not values["uri"].startswith("oci://"):
        raise BadRequest("parameter 'digest' pins an oci:// image; use 'sha256' for an s3:// file")
    return digest


def merged_parameters(parameters: Mapping[str, Any]) -> dict[str, str]:
    """Flatten `parameters` (and an embedded `config` JSON object) into checked strings."""
    values = dict(parameters)
    config = values.pop("config", None)
    if config is not None:
        values = {**config_parameters(config), **values}
    for key in IGNORED_KEYS:
        values.pop(key, None)
    unknown = sorted(key for key in values if key not in (*SPEC_KEYS, *PROPERTY_KEYS))
    if any(key.startswith("file:") for key in unknown):
        raise BadRequest("model files cannot be uploaded; give an s3:// or oci:// 'uri' instead")
    if unknown:
        raise BadRequest(f"unknown load parameter(s) {unknown}; known: {list(SPEC_KEYS)}")
    return {key: scalar_text(key, value) for key, value in values.items()}


def config_parameters(config: Any) -> dict[str, Any]:
    if isinstance(config, str):
        try:
            config = orjson.loads(config)
        except orjson.JSONDecodeError:
            raise BadRequest("parameter 'config' must be a JSON object") from None
    if not isinstance(config, dict):
        raise BadRequest("parameter 'config' must be a JSON object")
    return config


def scalar_text(key: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadRequest(f"load parameter {key!r} must be a string")
    text = str(value)
    if not text or len(text) > 2048:
        raise BadRequest(f"load parameter {key!r} must be 1..2048 characters")
    return text


@dataclass(frozen=True)
class LoaderSettings:
    threads: int = 1
    large_threads: int = 0
    golden_atol: float = 1e-4
    golden_rtol: float = 1e-3


@dataclass(frozen=True)
class FetchedModel:
    """The model's bytes, how to get its golden file (if any) and where that comes from."""

    model_bytes: bytes
    golden: Callable[[], bytes | None] | None = None
    golden_source: str = ""
    properties: dict[str, str] = field(default_factory=dict)


class ModelLoader:
    """Turns a LoadSpec into a checked, warmed-up OnnxModel (blocking; run it in a thread)."""

    def __init__(self, store: ArtifactStore, settings: LoaderSettings, oci: OciPuller) -> None:
        self.store = store
        self.settings = settings
        self.oci = oci

    def prepare(self) -> None:
        """Do the slow one-time work (runtime probe, S3 client) before the first load."""
        try:
            runtime_support()
            self.store.client()
        except Exception as exc:  # the first load will meet (and report) the same problem
            log.warning("preparing the loader failed: %s", exc)

    def load(self, name: str, spec: LoadSpec) -> OnnxModel:
        for uri in (spec.uri, spec.golden_uri):
            if uri is not None:
                self.vet(uri)
        fetched = self.fetch_modelcar(spec) if spec.from_oci else self.fetch_s3(spec)
        digest = checked_digest(spec, fetched.model_bytes)
        proto = parsed_onnx(spec.uri, fetched.model_bytes)
        runtime_support().check(proto)
        properties = {**model_properties(spec, proto, digest), **fetched.properties}
        model = self._session(name, spec, fetched.model_bytes, properties)
        golden = fetched.golden() if fetched.golden is not None else None
        if golden is not None:
            self._verify_golden(model, golden, fetched.golden_source)
        warm_up(model)
        return model

    def vet(self, uri: str) -> None:
        """Refuse a location the server may not fetch from (before fetching anything)."""
        if uri.startswith("oci://"):
            self.oci.vet(uri)
        else:
            self.store.vet(uri)

    def fetch_s3(self, spec: LoadSpec) -> FetchedModel:
        model_bytes = self.store.fetch(spec.uri)
        if spec.golden_uri is None:
            return FetchedModel(model_bytes)
        return FetchedModel(
            model_bytes, partial(self.store.fetch, spec.golden_uri), spec.golden_uri
        )

    def fetch_modelcar(self, spec: LoadSpec) -> FetchedModel:
        """Pull the modelcar (verified by digest); its golden.npz unless a golden_uri is given."""
        modelcar = self.oci.pull(spec.uri, spec.digest)
        model_bytes = modelcar.file(MODELCAR_MODEL)
        if model_bytes is None:
            found = ", ".join(sorted(modelcar.files)) or "nothing"
            raise LoadRefused(f"{spec.uri} is not a modelcar of this server: no "
                              f"/models/{MODELCAR_MODEL} (it has {found})")  # fmt: skip
        properties = {"modelcar_digest": modelcar.digest}
        if spec.golden_uri:
            golden = partial(self.store.fetch, spec.golden_uri)
            return FetchedModel(model_bytes, golden, spec.golden_uri, properties)
        in_image = partial(modelcar.file, MODELCAR_GOLDEN)
        return FetchedModel(model_bytes, in_image, f"{spec.uri} /models/golden.npz", properties)

    def _session(
        self, name: str, spec: LoadSpec, model_bytes: bytes, properties: dict[str, str]
    ) -> OnnxModel:
        try:
            threads, large_threads = self.settings.threads, self.settings.large_threads
            return OnnxModel.from_bytes(
                name, spec.version, model_bytes, threads, properties, large_threads
            )
        except Exception as exc:
            raise LoadRefused(f"onnxruntime cannot load {spec.uri}: {exc}") from None

    def _verify_golden(self, model: OnnxModel, golden: bytes, source: str) -> None:
        case = GoldenCase.from_bytes(golden, model, source)
        settings = self.settings
        verify_golden(model, case, settings.golden_atol, settings.golden_rtol, source)


def checked_digest(spec: LoadSpec, model_bytes: bytes) -> str:
    digest = hashlib.sha256(model_bytes).hexdigest()
    if spec.sha256 is not None and digest != spec.sha256:
        raise LoadRefused(
            f"sha256 mismatch for {spec.uri}: the artifact has {digest}, the registry "
            f"records {spec.sha256} (tampered or replaced artifact)"
        )
    return digest


def parsed_onnx(uri: str, model_bytes: bytes) -> onnx.ModelProto:
    try:
        proto = onnx.load_model_from_string(model_bytes)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise LoadRefused(f"{uri} is not an ONNX model: {exc}") from None
    if not proto.graph.node and not proto.graph.output:
        raise LoadRefused(f"{uri} is not an ONNX model: it has no graph")
    if any(tensor.data_location == onnx.TensorProto.EXTERNAL for tensor in proto.graph.initializer):
        raise LoadRefused(f"{uri} refers to external data files, which are not fetched")
    return proto


def model_properties(spec: LoadSpec, proto: onnx.ModelProto, digest: str) -> dict[str, str]:
    opsets = ",".join(f"{domain_name(o.domain)}:{o.version}" for o in proto.opset_import)
    properties = {"artifact_uri": spec.uri, "sha256": digest, "ir_version": str(proto.ir_version)}
    properties["opsets"] = opsets
    if spec.golden_uri:
        properties["golden_uri"] = spec.golden_uri
    return {**properties, **spec.properties}


def warm_up(model: OnnxModel) -> None:
    """One run on zeros (free dimensions = 1) per session: no client request is the slow first."""
    feeds = {
        spec.name: np.zeros([max(dim, 1) for dim in spec.shape], DATATYPES[spec.datatype])
        for spec in model.inputs
        if spec.datatype in DATATYPES
    }
    if len(feeds) == len(model.inputs):
        with contextlib.suppress(Exception):  # a model that cannot run zeros still loads
            for large in {False, model.large_session is not model.session}:
                model.run(feeds, [spec.name for spec in model.outputs], large)
