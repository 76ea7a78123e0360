"""boto3 clients pointed at the session's cluster (tests/integration/conftest.py), exactly as
a user points them: ``endpoint_url`` and credentials. The session's cluster verifies
signatures (it was started with the pair these clients sign with)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.integration.conftest import AWS_ACCESS_KEY, AWS_SECRET_KEY

REGION = "us-east-1"
ACCOUNT = "000000000000"


@pytest.fixture(scope="session")
def aws(url: str) -> Callable[[str], Any]:
    """``aws("sqs")``: a boto3 client of that service for the cluster."""
    session = boto3.session.Session(
        aws_access_key_id=AWS_ACCESS_KEY,
        aws_secret_access_key=AWS_SECRET_KEY,
        region_name=REGION,
    )
    config = Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5,
                    read_timeout=30)  # fmt: skip
    clients: dict[str, Any] = {}

    def make(service: str) -> Any:
        if service not in clients:
            clients[service] = session.client(service, endpoint_url=url, config=config)
        return clients[service]

    return make


@pytest.fixture
def sqs(aws: Callable[[str], Any]) -> Iterator[Any]:
    yield aws("sqs")
