"""A hostile OCI registry on loopback: the peer the puller must survive.

docker-registry (the real one, used everywhere else) validates what it stores and serves it
promptly, so it cannot misbehave. This server speaks just enough of the distribution API to
do so on purpose, chosen by the repository name:

- `endless-manifest`: a manifest body that never ends;
- `endless-blob`: the layer's body goes on past the size its descriptor gives;
- `endless-error`: a 404 whose body never ends;
- `drip`: the layer arrives one byte every 50 ms;
- `redirect-loop`: every request is redirected to itself;
- `redirect-away`: every request is redirected to the same request for `honest` on another
  host name of this server (`localhost` instead of `127.0.0.1`);
- `echo-error`: a 401 whose error message carries a fake credential (as a registry that
  echoes what it was sent would);
- anything else: the image given to `serve` (manifest JSON, blobs), served honestly.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ENDLESS_CHUNK = b"\0" * 65536
FAKE_CREDENTIAL = "Bearer s3cr3t-echoed-token"
ECHOED_ERROR = json.dumps({"errors": [
    {"code": "UNAUTHORIZED", "message": f"authentication required, you sent {FAKE_CREDENTIAL}",
     "detail": {"Authorization": FAKE_CREDENTIAL}},
    {"code": FAKE_CREDENTIAL, "message": "x"},
]}).encode()  # fmt: skip


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class HostileRegistry:
    """Images by repository (manifest bytes) and blobs by digest; `address` is host:port."""

    address: str = ""
    manifests: dict[str, bytes] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)

    def serve(self, repository: str, manifest: dict[str, Any] | list[Any]) -> str:
        """Serve `manifest` as `<repository>:v1`; its digest."""
        self.manifests[repository] = json.dumps(manifest).encode()
        return digest_of(self.manifests[repository])

    def blob(self, data: bytes) -> dict[str, Any]:
        """Store `data`; a layer descriptor for it (uncompressed tar)."""
        self.blobs[digest_of(data)] = data
        media_type = "application/vnd.oci.image.layer.v1.tar"
        return {"mediaType": media_type, "digest": digest_of(data), "size": len(data)}

    def image(self, repository: str, layer: bytes) -> str:
        """An honest one-layer image of `layer` (a tar) as `<repository>:v1`; its digest."""
        config = json.dumps({"rootfs": {"type": "layers", "diff_ids": [digest_of(layer)]}})
        descriptor = self.blob(config.encode())
        return self.serve(repository, {
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {**descriptor, "mediaType": "application/vnd.oci.image.config.v1+json"},
            "layers": [self.blob(layer)],
        })  # fmt: skip


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    registry: HostileRegistry

    def log_message(self, *_: Any) -> None:
        pass

    def do_HEAD(self) -> None:
        self.answer(head=True)

    def do_GET(self) -> None:
        self.answer(head=False)

    def answer(self, head: bool) -> None:
        _, _, repository, kind, reference = self.path.split("/", 4)
        if repository == "redirect-loop":
            self.send(302, b"", {"Location": self.path})
        elif repository == "redirect-away":
            port = self.registry.address.rsplit(":", 1)[1]
            self.send(
                302, b"", {"Location": f"http://localhost:{port}/v2/honest/{kind}/{reference}"}
            )
        elif repository == "echo-error":
            self.send(401, ECHOED_ERROR, {"Content-Type": "application/json"})
        elif repository == "endless-error" and not head:
            self.endless(404)
        elif kind == "manifests":
            self.manifest(repository, head)
        elif repository in {"endless-blob", "drip"} and reference in self.layers():
            self.misbehave(repository, self.registry.blobs[reference])
        else:
            self.send(200, self.registry.blobs[reference])

    def manifest(self, repository: str, head: bool) -> None:
        if repository == "endless-manifest" and not head:
            self.endless(200)
            return
        body = self.registry.manifests.get(repository, b"{}")
        headers = {"Docker-Content-Digest": digest_of(body),
                   "Content-Type": "application/vnd.oci.image.manifest.v1+json"}  # fmt: skip
        self.send(200, b"" if head else body, headers, length=len(body))

    def layers(self) -> set[str]:
        manifests = [json.loads(body) for body in self.registry.manifests.values()]
        return {layer["digest"] for m in manifests if isinstance(m, dict)
                for layer in m.get("layers", [])}  # fmt: skip

    def misbehave(self, repository: str, data: bytes) -> None:
        if repository == "endless-blob":
            self.endless(200, first=data)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        for byte in data:
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            time.sleep(0.05)

    def send(self, status: int, body: bytes, headers: dict[str, str] | None = None,
             length: int | None = None) -> None:  # fmt: skip
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)

    def endless(self, status: int, first: bytes = b"") -> None:
        """A chunked body that goes on until the client hangs up."""
        self.send_response(status)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for chunk in itertools.chain([first] if first else [], itertools.repeat(ENDLESS_CHUNK)):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except OSError:
            return


@contextmanager
def running_hostile_registry() -> Iterator[HostileRegistry]:
    """The hostile registry on a free loopback port, stopped on exit."""
    registry = HostileRegistry()
    handler = type("BoundHandler", (Handler,), {"registry": registry})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    registry.address = f"127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield registry
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
