"""The model-name rule (`serving.names`) and the anchors of every name check beside it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pipelines.params import PipelineParams
from serving.artifacts import ArtifactStore, ReferenceRefused, S3Config, S3Location
from serving.errors import BadRequest, LoadRefused, ServingError
from serving.loader import LoadSpec
from serving.names import BadModelName, check_model_name, model_path, repository_path, segments
from serving.oci import OciConfig, OciLocation, OciPuller
from serving.repository import checked_name
from training.modelcar import ModelcarError, OciSettings

LONGEST = "m" * 253

# Names a registry InferenceService may carry that the server must never hold: each would
# address another model or route if it reached a URL unescaped, or only looks like `victim`.
HOSTILE_NAMES = {
    "unload-query": "victim/unload?",
    "load-query": "victim/load?",
    "dot-dot-path": "a/../victim",
    "unload-fragment": "victim/unload#",
    "encoded-slash": "victim%2Funload",
    "dot-dot": "..",
    "trailing-newline": "victim\n",
    "too-long": "v" * 254,
    "cyrillic-i": "v\u0456ctim",
    "fullwidth-v": "\uff56ictim",
    "zero-width-space": "victim\u200b",
}
REFUSED_NAMES = {
    **HOSTILE_NAMES,
    "empty": "",
    "dot": ".",
    "leading-dash": "-bad",
    "space": "mnist v2",
    "trailing-carriage-return": "mnist\r",
    "nul": "mnist\x00",
}


@pytest.mark.parametrize("name", ["mnist", "MNIST-v2", "a", "m.n_i-s.t", "a..b", "9", LONGEST])
def test_check_model_name_accepts(name: str) -> None:
    check_model_name(name)
    assert checked_name(name) == name


@pytest.mark.parametrize("name", REFUSED_NAMES.values(), ids=REFUSED_NAMES.keys())
def test_check_model_name_refuses(name: str) -> None:
    with pytest.raises(BadModelName, match="^bad model name "):
        check_model_name(name)


def test_check_model_name_message_says_the_rule() -> None:
    with pytest.raises(BadModelName) as caught:
        check_model_name("victim/unload?")
    assert str(caught.value) == (
        "bad model name 'victim/unload?': use 1-253 ASCII letters, digits, '.', '_' or '-', "
        "starting with a letter or digit"
    )


def test_check_model_name_message_shows_a_newline_escaped() -> None:
    with pytest.raises(BadModelName, match=r"^bad model name 'mnist\\n': use 1-253"):
        check_model_name("mnist\n")


def test_check_model_name_message_of_a_long_name_is_short() -> None:
    with pytest.raises(BadModelName) as caught:
        check_model_name("m" * 10_000)
    message = str(caught.value)
    assert message.endswith("…: 10000 characters, at most 253")
    assert len(message) < 120


def test_check_model_name_refuses_a_non_string() -> None:
    with pytest.raises(BadModelName, match="model name must be a string, not int"):
        check_model_name(7)  # type: ignore[arg-type]


def test_server_check_turns_a_bad_name_into_a_400() -> None:
    with pytest.raises(BadRequest, match="bad model name 'mnist\\\\n'") as caught:
        checked_name("mnist\n")
    assert caught.value.status == 400


def test_model_path_of_an_accepted_name() -> None:
    assert model_path("mnist") == "/v2/models/mnist"
    assert model_path("MNIST-v2", "infer") == "/v2/models/MNIST-v2/infer"
    assert model_path("m.1", "versions", "3", "ready") == "/v2/models/m.1/versions/3/ready"


def test_repository_path_of_an_accepted_name() -> None:
    assert repository_path("mnist", "load") == "/v2/repository/models/mnist/load"
    assert repository_path("mnist", "unload") == "/v2/repository/models/mnist/unload"


@pytest.mark.parametrize("name", HOSTILE_NAMES.values(), ids=HOSTILE_NAMES.keys())
def test_no_url_is_built_from_a_refused_name(name: str) -> None:
    with pytest.raises(BadModelName):
        model_path(name, "infer")
    with pytest.raises(BadModelName):
        repository_path(name, "unload")


def test_segments_escape_every_path_delimiter() -> None:
    assert segments("a/b?c#d%e", "f g") == "/a%2Fb%3Fc%23d%25e/f%20g"


# The anchors of the other name checks: a trailing newline passes a `$` anchor (issue 19.8).


def test_load_sha256_with_a_trailing_newline_refused() -> None:
    good = LoadSpec.from_parameters({"uri": "s3://models/m.onnx", "sha256": "a" * 64})
    assert good.sha256 == "a" * 64
    with pytest.raises(BadRequest, match="'sha256' must be 64 hexadecimal digits"):
        LoadSpec.from_parameters({"uri": "s3://models/m.onnx", "sha256": "a" * 64 + "\n"})


def test_load_digest_with_a_trailing_newline_refused() -> None:
    digest = "sha256:" + "b" * 64
    good = LoadSpec.from_parameters({"uri": "oci://localhost:5000/m:v1", "digest": digest})
    assert good.digest == digest
    with pytest.raises(BadRequest, match="'digest' must be sha256:"):
        LoadSpec.from_parameters({"uri": "oci://localhost:5000/m:v1", "digest": digest + "\n"})


def test_bucket_with_a_trailing_newline_refused() -> None:
    assert S3Location.parse("s3://models/m.onnx", frozenset({"models"})).bucket == "models"
    with pytest.raises(ReferenceRefused, match="bad bucket name 'models\\\\n'"):
        S3Location.parse("s3://models\n/m.onnx", frozenset({"models", "models\n"}))


def test_oci_reference_with_a_trailing_newline_refused() -> None:
    allowed = frozenset({"localhost:5000"})
    assert OciLocation.parse("oci://localhost:5000/mnist:v1", allowed).tag == "v1"
    with pytest.raises(ReferenceRefused, match="not an image reference"):
        OciLocation.parse("oci://localhost:5000/mnist:v1\n", allowed)


def test_modelcar_tag_with_a_trailing_newline_refused() -> None:
    settings = OciSettings("localhost:5000")
    assert settings.reference("MNIST", "v1") == "localhost:5000/mnist:v1"
    with pytest.raises(ModelcarError, match="cannot name an OCI image"):
        settings.reference("MNIST", "v1\n")
    with pytest.raises(ModelcarError, match="cannot name an OCI image"):
        settings.reference("MNIST\n", "v1")


def test_pipeline_bucket_with_a_trailing_newline_refused() -> None:
    assert PipelineParams(s3_bucket="models").problems() == []
    assert "is not a valid bucket name" in PipelineParams(s3_bucket="models\n").problems()[0]


STORE = ArtifactStore(S3Config("http://127.0.0.1:9", "k", "s", "r", frozenset({"models"})))
PULLER = OciPuller(OciConfig(frozenset({"localhost:5000"})))
REFUSED_REFERENCES = {
    "s3": ("http://evil.example/m.onnx", STORE.vet, S3Location.parse, frozenset({"models"})),
    "oci": ("oci://evil:5000/m:v1", PULLER.vet, OciLocation.parse, frozenset({"localhost:5000"})),
}


@pytest.mark.parametrize(
    ("uri", "vet", "parse", "allowed"), REFUSED_REFERENCES.values(), ids=REFUSED_REFERENCES.keys()
)
def test_a_refused_reference_is_neutral_to_the_controller_and_400_to_the_server(
    uri: str, vet: Callable[[str], Any], parse: Callable[..., Any], allowed: frozenset[str]
) -> None:
    """Parsing raises ReferenceRefused (no HTTP status, as the controller sees it); the
    server's vet turns the same message into LoadRefused (400)."""
    with pytest.raises(ReferenceRefused) as neutral:
        parse(uri, allowed)
    assert not isinstance(neutral.value, ServingError)
    with pytest.raises(LoadRefused) as served:
        vet(uri)
    assert (served.value.status, served.value.message) == (400, str(neutral.value))


def test_an_allowed_reference_is_vetted_by_the_server() -> None:
    assert STORE.vet("s3://models/m.onnx").key == "m.onnx"
    assert PULLER.vet("oci://localhost:5000/m:v1").tag == "v1"
