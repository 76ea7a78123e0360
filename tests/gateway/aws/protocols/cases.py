"""The operations the round-trip specifications run over: every operation of the SQS (json),
legacy SQS (query), SNS, STS, Lambda and S3 (rest-xml) models, and a fixed sample of IAM's."""

from __future__ import annotations

from typing import Any

import pytest

from raybus.gateway.aws.protocols import codec_for

SERVICES: tuple[tuple[str, str | None], ...] = (
    ("sqs", None),
    ("sqs", "query"),
    ("sns", None),
    ("sts", None),
    ("lambda", None),
    ("iam", None),
    ("s3", None),
)
IAM_SAMPLE_EVERY = 6  # 181 operations -> 31


def operations() -> list[Any]:
    cases: list[Any] = []
    for service, protocol in SERVICES:
        codec = codec_for(service, protocol=protocol)
        names = sorted(codec.service.operation_names)
        if service == "iam":
            names = names[::IAM_SAMPLE_EVERY]
        label = f"{service}-{protocol}" if protocol else service
        cases.extend(pytest.param(service, protocol, name, id=f"{label}.{name}") for name in names)
    return cases
