"""The modelcar's base image, made here: one layer with Debian's static busybox.

KServe runs a modelcar as a sidecar whose command is a shell line (`ln -sf /proc/$$/root/models
/mnt/ && sleep infinity`), so the base needs `sh`, `ln` and `sleep`. Upstream's examples use
the `busybox` image from Docker Hub; this machine cannot pull it, so the same thing is built
from Debian's `busybox-static` package (`make oci-deps`): a statically linked binary needs no
libraries. The layer is byte-for-byte reproducible (fixed times, owners and gzip header), so
every version's modelcar shares one base blob in the registry.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import json
import platform
import tarfile
from pathlib import Path
from typing import Any

BUSYBOX = Path("/bin/busybox")
APPLETS = ("sh", "ln", "sleep", "ls", "cat", "sha256sum")
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_GZIP_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
EPOCH = "1970-01-01T00:00:00Z"
ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


class BaseImageError(RuntimeError):
    """The base image cannot be built (busybox-static missing)."""


def busybox_layer(busybox: Path = BUSYBOX) -> bytes:
    """A reproducible tar of /bin/busybox and its applet links (uncompressed)."""
    if not busybox.is_file():
        raise BaseImageError(f"{busybox} not found: the modelcar base image needs Debian's "
                             "busybox-static package (`make oci-deps`).")  # fmt: skip
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        tar.addfile(entry("bin", tarfile.DIRTYPE, 0o755))
        data = busybox.read_bytes()
        tar.addfile(entry("bin/busybox", tarfile.REGTYPE, 0o755, len(data)), io.BytesIO(data))
        for applet in APPLETS:
            tar.addfile(entry(f"bin/{applet}", tarfile.SYMTYPE, 0o777, link="busybox"))
    return buffer.getvalue()


def entry(name: str, kind: bytes, mode: int, size: int = 0, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.size, info.linkname = kind, mode, size, link
    info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "root", "root"
    return info


def write_blob(layout: Path, data: bytes) -> str:
    """Store `data` in the layout's blobs; return its digest (`sha256:...`)."""
    digest = hashlib.sha256(data).hexdigest()
    path = layout / "blobs" / "sha256" / digest
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return f"sha256:{digest}"


def descriptor(layout: Path, media_type: str, data: bytes) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": write_blob(layout, data), "size": len(data)}


def image_config(diff_id: str) -> dict[str, Any]:
    """The OCI image config: platform, a shell as the default command, one layer's history."""
    return {
        "created": EPOCH,
        "architecture": ARCHITECTURES.get(platform.machine(), platform.machine()),
        "os": "linux",
        "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": EPOCH, "created_by": "busybox-static from Debian (/bin/busybox)"}],
    }


@functools.lru_cache(maxsize=2)
def compressed_layer(busybox: Path) -> tuple[bytes, bytes]:
    """(tar, gzip of it): made once per process (gzip level 6: 3x faster than 9, ~2% larger)."""
    tar = busybox_layer(busybox)
    return tar, gzip.compress(tar, compresslevel=6, mtime=0)


def write_base_layout(layout: Path, busybox: Path = BUSYBOX) -> str:
    """Write an OCI image layout holding the base image as `latest`; return its digest."""
    tar, compressed = compressed_layer(busybox)
    layer = descriptor(layout, LAYER_GZIP_TYPE, compressed)
    config = image_config(f"sha256:{hashlib.sha256(tar).hexdigest()}")
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": descriptor(layout, CONFIG_TYPE, canonical_json(config)),
        "layers": [layer],
    }
    found = descriptor(layout, MANIFEST_TYPE, canonical_json(manifest))
    found["annotations"] = {"org.opencontainers.image.ref.name": "latest"}
    index = {"schemaVersion": 2, "manifests": [found]}
    (layout / "index.json").write_text(json.dumps(index))
    (layout / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    return str(found["digest"])


def canonical_json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
