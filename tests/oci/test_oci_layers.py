"""A layer's content: only regular files under models/ count; gunzip stops at its limit."""

from __future__ import annotations

import gzip
import io
import tarfile

import pytest

from serving.errors import LoadRefused
from serving.oci_layers import gunzip, models_in_tar


def entry(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"", link: str = "") -> tuple:
    return name, kind, data, link


def layer(*entries: tuple) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, kind, data, link in entries:
            info = tarfile.TarInfo(name)
            info.type, info.linkname, info.size = kind, link, len(data)
            tar.addfile(info, io.BytesIO(data) if data else None)
    return buffer.getvalue()


def test_only_regular_files_that_stay_under_models_are_content() -> None:
    tar = layer(
        entry("models/model.onnx", data=b"model"),
        entry("/models/sub/golden.npz", data=b"golden"),
        entry("models/x/../requirements.txt", data=b"numpy==2\n"),
        entry("../models/outside", data=b"up and back in: not under /models/"),
        entry("models/../../etc/passwd", data=b"leaves models/"),
        entry("etc/shadow", data=b"elsewhere"),
        entry("models/link", tarfile.SYMTYPE, link="/etc/passwd"),
        entry("models/hard", tarfile.LNKTYPE, link="etc/shadow"),
        entry("models/dir", tarfile.DIRTYPE),
        entry("models/fifo", tarfile.FIFOTYPE),
    )
    assert models_in_tar(tar) == {
        "model.onnx": b"model",
        "sub/golden.npz": b"golden",
        "requirements.txt": b"numpy==2\n",
    }


def test_a_layer_that_is_no_tar_is_refused() -> None:
    with pytest.raises(LoadRefused, match="a layer is not a valid tar archive"):
        models_in_tar(b"not a tar" * 100)


def test_gunzip_reads_every_member_up_to_its_limit() -> None:
    blob = gzip.compress(b"a" * 10) + gzip.compress(b"b" * 10)
    assert gunzip(blob, limit=20) == b"a" * 10 + b"b" * 10
    with pytest.raises(LoadRefused, match="decompresses to more than the 19 bytes left"):
        gunzip(blob, limit=19)


def test_gunzip_stops_a_bomb_at_the_limit() -> None:
    bomb = gzip.compress(b"\0" * (32 << 20), compresslevel=9)
    assert len(bomb) < 64 * 1024
    with pytest.raises(LoadRefused, match="decompresses to more than the 1048576 bytes left"):
        gunzip(bomb, limit=1 << 20)


@pytest.mark.parametrize(
    ("blob", "reason"),
    [
        (gzip.compress(b"x" * 1000, mtime=0)[:-20], "not valid gzip: it ends early"),
        (b"\x1f\x8b" + b"\0" * 30, "not valid gzip"),
        (gzip.compress(b"x", mtime=0) + b"trailing junk", "not valid gzip"),
    ],
    ids=["cut short", "zeros after the magic", "trailing junk"],  # the same in every process
)
def test_gunzip_refuses_broken_gzip(blob: bytes, reason: str) -> None:
    with pytest.raises(LoadRefused, match=reason):
        gunzip(blob, limit=1 << 20)
