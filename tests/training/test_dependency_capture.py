"""Dependency capture: pinned versions, requirements text, ONNX self-description, digests."""

from __future__ import annotations

import hashlib
import platform
from importlib import metadata
from pathlib import Path

from training.deps import (
    NOT_INSTALLED,
    PINNED_PACKAGES,
    describe_onnx,
    file_digest,
    package_versions,
    parse_requirements,
    requirements_text,
)
from training.export import ExportedModel


def test_package_versions_pins_python_and_every_library() -> None:
    versions = package_versions()
    assert versions["python"] == platform.python_version()
    for name in PINNED_PACKAGES:
        assert versions[name] == metadata.version(name)


def test_package_versions_marks_missing_package() -> None:
    versions = package_versions(("numpy", "no-such-package-here"))
    assert versions["no-such-package-here"] == NOT_INSTALLED


def test_requirements_text_pins_installed_and_skips_missing() -> None:
    text = requirements_text({"python": "3.11.7", "numpy": "2.4.6", "gone": NOT_INSTALLED})
    assert "numpy==2.4.6" in text.splitlines()
    assert "gone" not in text
    assert "# python 3.11.7" in text
    assert parse_requirements(text) == {"numpy": "2.4.6"}


def test_describe_onnx_reports_opset_ir_producer_signature(exported_dense: ExportedModel) -> None:
    description = describe_onnx(exported_dense.onnx_path)
    assert description.opset == exported_dense.opset
    assert description.ir_version >= 7
    assert description.producer == f"tf2onnx {metadata.version('tf2onnx')}"
    assert description.inputs == [{"name": "x", "datatype": "FP32", "shape": [-1, 28, 28]}]
    assert '"probabilities"' in description.signature_json()


def test_file_digest_matches_hashlib(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    content = bytes(range(256)) * 5000
    path.write_bytes(content)
    digest = file_digest(path, chunk_size=4096)
    assert digest.sha256 == hashlib.sha256(content).hexdigest()
    assert digest.size == len(content)
