"""SeaweedFS's service log (what `make logs` shows) holds warnings and errors only; its INFO
chatter (LockRing ring updates, topology) goes to rotated files beside its data."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from contracts.s3 import s3_client
from stack.seaweed import S3Settings, running_seaweed

pytestmark = pytest.mark.server
INFO_LINE = re.compile(r"^I\d{4} ", re.MULTILINE)


def test_seaweed_service_log_has_no_info_lines(tmp_path: Path) -> None:
    with running_seaweed(tmp_path) as process:
        settings = S3Settings(endpoint=process.url)
        s3 = s3_client(settings)
        s3.put_object(Bucket=settings.bucket, Key="probe.txt", Body=b"probe")
        body = s3.get_object(Bucket=settings.bucket, Key="probe.txt")["Body"].read()
        assert body == b"probe"
    assert not INFO_LINE.search((tmp_path / "weed.log").read_text())
    assert list((tmp_path / "data" / "logs").glob("weed.*.INFO.*"))
