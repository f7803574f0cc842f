"""How every part reaches the S3 server that `AWS_S3_ENDPOINT` names: path-style requests
(`http://host:9000/<bucket>/<key>`), because SeaweedFS, MinIO and Ceph on a laptop or in a
cluster have no per-bucket DNS names; timeouts short enough that a stopped server is reported
in seconds, not after boto3's minute; two retries. Training's uploads, the inference server's
fetches, the stack's bucket and the tests all build their client here, so no part can
address the server differently from the others.

boto3 is imported when a client is made, so importing this module costs nothing to a part
that never talks to S3.
"""

from __future__ import annotations

from typing import Any, Protocol


class S3Account(Protocol):
    """Where the server is and the key pair that signs requests (the `AWS_*` variables)."""

    @property
    def endpoint(self) -> str: ...

    @property
    def access_key(self) -> str: ...

    @property
    def secret_key(self) -> str: ...

    @property
    def region(self) -> str: ...


def s3_client(account: S3Account, *, connect_timeout: float = 3, read_timeout: float = 30) -> Any:
    """A boto3 S3 client for `account`: path-style addressing, the given timeouts (seconds),
    at most three attempts per request (botocore's `max_attempts` counts the retries)."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"max_attempts": 2, "mode": "standard"},
        s3={"addressing_style": "path"},
    )
    return boto3.client(
        "s3",
        endpoint_url=account.endpoint,
        aws_access_key_id=account.access_key,
        aws_secret_access_key=account.secret_key,
        region_name=account.region,
        config=config,
    )
