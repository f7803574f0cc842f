"""Each published version as a KServe modelcar: an OCI image with the model under /models/.

Built without a container engine: the base image (busybox, `training.modelcar_base`) is
written as an OCI image layout, `olot` (the Kubeflow model-registry team's library, the one
upstream's `save_to_oci_registry` uses) adds one layer per model file under `/models/`, and
`skopeo copy` pushes the layout to the OCI registry named by `OCI_REGISTRY`. A registry on
loopback is spoken to over plain HTTP (as Docker and containerd do by default); any other
over HTTPS.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from contracts.defaults import OCI_REGISTRY
from contracts.oci import is_loopback
from training.modelcar_base import write_base_layout

MODELS_DIR = "/models"
BASE_REPOSITORY = "modelcar-base"
BASE_TAG = "busybox"
REFERENCE_PART = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*\Z")
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")
DEFAULT_OCI_REGISTRY = OCI_REGISTRY.default


class ModelcarError(RuntimeError):
    """The modelcar could not be built or pushed; the message says what to do."""


@dataclass(frozen=True)
class OciSettings:
    """Where modelcars go: `host:port` of an OCI registry, optionally with a namespace path."""

    registry: str

    @classmethod
    def from_env(cls, registry: str | None = None) -> OciSettings | None:
        """Argument > OCI_REGISTRY > the documented default `localhost:5000` (where `make up`
        runs one). None (no modelcar) when OCI_REGISTRY is set empty, or when the default is
        used and nothing answers there: then one sentence says so. A registry that is named
        and does not answer fails the push instead (PublishError)."""
        named = registry if registry is not None else os.environ.get(OCI_REGISTRY.env)
        value = (DEFAULT_OCI_REGISTRY if named is None else named).strip().rstrip("/")
        if not value:
            return None
        if named is None and not answers(f"http://{value}/v2/"):
            print(f"No modelcar for this version: nothing answers at {value} (the default "
                  "OCI_REGISTRY); `make up` starts a registry there, OCI_REGISTRY= turns "
                  "this off.", flush=True)  # fmt: skip
            return None
        return cls(value)

    @property
    def plain_http(self) -> bool:
        """True for a registry on loopback (no TLS there, as Docker and containerd assume)."""
        return is_loopback(self.registry)

    def reference(self, model_name: str, version: str) -> str:
        """`<registry>/<model, lower-case>:<version>`; ModelcarError if not a valid reference."""
        repository = model_name.lower()
        if not REFERENCE_PART.match(repository) or not TAG.match(version):
            raise ModelcarError(
                f"{model_name!r}:{version!r} cannot name an OCI image: the model name must be "
                "letters, digits and single . _ - separators, the version a valid tag."
            )
        return f"{self.registry}/{repository}:{version}"


def answers(url: str, timeout: float = 2.0) -> bool:
    """True when an HTTP server answers `url` at all (a registry asking for auth answers)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout):  # noqa: S310
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False


@dataclass(frozen=True)
class ModelcarImage:
    """A pushed modelcar: its tag reference, manifest digest, size and how long it took."""

    reference: str
    digest: str
    size_bytes: int
    build_seconds: float
    push_seconds: float

    @property
    def uri(self) -> str:
        """`oci://host:port/repo:tag`, as upstream's client records an OCI upload."""
        return f"oci://{self.reference}"

    @property
    def pinned_reference(self) -> str:
        """`host:port/repo@sha256:...`: the exact image, whatever the tag points at later."""
        return f"{self.reference.rsplit(':', 1)[0]}@{self.digest}"


def build_modelcar(layout: Path, files: Sequence[Path]) -> None:
    """Write the base image into `layout`, then add each file as a layer under /models/."""
    from olot.basics import oci_layers_on_top

    write_base_layout(layout)
    root = files[0].parent
    if any(path.parent != root for path in files):
        raise ModelcarError("the modelcar's files must all be in one directory")
    oci_layers_on_top(layout, list(files), root_dir=root)


def layout_size(layout: Path) -> int:
    """Bytes the image occupies in a registry: manifest, config and every layer."""
    index = json.loads((layout / "index.json").read_text())
    manifest_descriptor = index["manifests"][0]
    blobs = layout / "blobs" / "sha256"
    manifest = json.loads((blobs / manifest_descriptor["digest"][7:]).read_text())
    parts = [manifest["config"], *manifest["layers"]]
    return int(manifest_descriptor["size"]) + sum(int(part["size"]) for part in parts)


def skopeo_copy(layout: Path, reference: str, settings: OciSettings) -> str:
    """`skopeo copy oci:<layout>:latest docker://<reference>`; the pushed manifest digest."""
    if shutil.which("skopeo") is None:
        raise ModelcarError("`skopeo` not found: run `make oci-deps` (Debian package skopeo).")
    digest_file = layout / "pushed-digest"
    command = ["skopeo", "copy", "--quiet", "--preserve-digests", "--digestfile", str(digest_file),
               f"oci:{layout}:latest", f"docker://{reference}"]  # fmt: skip
    if settings.plain_http:
        command.insert(2, "--dest-tls-verify=false")
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    if result.returncode != 0:
        raise ModelcarError(
            f"Cannot push the modelcar to the OCI registry {settings.registry} "
            f"({last_line(result.stderr)}): start it (`make up`, or `python -m stack oci`) or "
            "set OCI_REGISTRY to a registry you can push to."
        )
    return digest_file.read_text().strip()


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][-300:] if lines else "no output"


def publish_modelcar(
    files: Sequence[Path], settings: OciSettings, model_name: str, version: str
) -> ModelcarImage:
    """Build the modelcar of `files` and push it as `<registry>/<model>:<version>`."""
    reference = settings.reference(model_name, version)
    with tempfile.TemporaryDirectory(prefix="modelcar-") as work:
        layout = Path(work) / "layout"
        started = time.monotonic()
        build_modelcar(layout, files)
        built = time.monotonic()
        digest = skopeo_copy(layout, reference, settings)
        pushed = time.monotonic()
        size = layout_size(layout)
    return ModelcarImage(reference, digest, size, built - started, pushed - built)


def push_base_image(settings: OciSettings) -> str:
    """Push the busybox base alone as `<registry>/modelcar-base:busybox` (for upstream's
    `save_to_oci_registry`, which pulls its base image from a registry); its reference."""
    reference = f"{settings.registry}/{BASE_REPOSITORY}:{BASE_TAG}"
    with tempfile.TemporaryDirectory(prefix="modelcar-base-") as work:
        layout = Path(work) / "layout"
        write_base_layout(layout)
        skopeo_copy(layout, reference, settings)
    return reference
