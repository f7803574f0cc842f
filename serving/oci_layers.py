"""An image layer's content: gunzip within a byte limit, and the files under `models/`.

Nothing is written to disk, so a tar entry cannot escape anywhere: a path is only a name.
Names are normalised (`..` resolved, a leading `/` dropped) and only regular files whose
name then starts with `models/` count; symlinks, hard links and devices are not content.
"""

from __future__ import annotations

import io
import posixpath
import tarfile
import zlib

from serving.errors import LoadRefused

MODELS_PREFIX = "models/"


def gunzip(blob: bytes, limit: int) -> bytes:
    """Every gzip member of `blob`, decompressed; LoadRefused past `limit` bytes (a bomb)."""
    parts, size, rest = [], 0, blob
    try:
        while rest:
            inflater = zlib.decompressobj(wbits=31)
            parts.append(inflater.decompress(rest, limit + 1 - size))
            size += len(parts[-1])
            if size > limit:
                raise LoadRefused(f"a layer decompresses to more than the {limit} bytes left")
            if not inflater.eof:
                raise LoadRefused("a layer is not valid gzip: it ends early")
            rest = inflater.unused_data
    except zlib.error as exc:
        raise LoadRefused(f"a layer is not valid gzip: {exc}") from None
    return b"".join(parts)


def models_in_tar(tar_bytes: bytes) -> dict[str, bytes]:
    """Regular files under models/ in one layer, by their (normalised) path below models/."""
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(tar_bytes), mode="r:") as tar:
            for member in tar:
                name = posixpath.normpath(member.name.lstrip("/"))
                if member.isfile() and name.startswith(MODELS_PREFIX):
                    extracted = tar.extractfile(member)
                    if extracted is not None:
                        files[name.removeprefix(MODELS_PREFIX)] = extracted.read()
    except tarfile.TarError as exc:
        raise LoadRefused(f"a layer is not a valid tar archive: {exc}") from None
    return files
