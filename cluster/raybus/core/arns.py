"""AWS-shaped identifiers for raybus resources: ARNs and SQS queue URLs.

raybus has no accounts or regions, but handlers written for AWS read ARNs out of their events
(``eventSourceARN``, ``TopicArn``, ``invoked_function_arn``) and split them on ``:``. Every ARN
raybus writes therefore uses the region and account that local AWS stand-ins use
(``us-east-1``, ``000000000000``), so such code runs unchanged. Pure and deterministic.

Formats (AWS's): ``arn:aws:sqs:<region>:<account>:<queue>``,
``arn:aws:sns:<region>:<account>:<topic>``, ``arn:aws:sns:<region>:<account>:<topic>:<id>``
for a subscription, ``arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]``.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "ACCOUNT_ID",
    "LATEST",
    "PARTITION",
    "REGION",
    "SNS_ENDPOINT",
    "SQS_ENDPOINT",
    "Arn",
    "function_arn",
    "parse_arn",
    "queue_arn",
    "queue_url",
    "subscription_arn",
    "topic_arn",
]

PARTITION = "aws"
REGION = "us-east-1"
ACCOUNT_ID = "000000000000"
LATEST = "$LATEST"
SQS_ENDPOINT = f"https://sqs.{REGION}.amazonaws.com"
SNS_ENDPOINT = f"https://sns.{REGION}.amazonaws.com"


class Arn(NamedTuple):
    partition: str
    service: str
    region: str
    account: str
    resource: str  # everything after the account, colons included ("function:f:$LATEST")


def _arn(service: str, resource: str) -> str:
    return f"arn:{PARTITION}:{service}:{REGION}:{ACCOUNT_ID}:{resource}"


def queue_arn(name: str) -> str:
    return _arn("sqs", name)


def queue_url(name: str, endpoint: str = SQS_ENDPOINT) -> str:
    """SQS's queue URL form, ``<endpoint>/<account>/<name>``."""
    return f"{endpoint.rstrip('/')}/{ACCOUNT_ID}/{name}"


def topic_arn(name: str) -> str:
    return _arn("sns", name)


def subscription_arn(topic: str, subscription_id: str) -> str:
    return f"{topic_arn(topic)}:{subscription_id}"


def function_arn(name: str, qualifier: str | None = None) -> str:
    """The unqualified ARN, or with ``qualifier`` (``"$LATEST"``, a version or an alias)."""
    resource = f"function:{name}"
    return _arn("lambda", resource if qualifier is None else f"{resource}:{qualifier}")


def parse_arn(arn: str) -> Arn:
    """Split an ARN into its parts; ``ValueError`` if it is not ``arn:<p>:<s>:<r>:<a>:<res>``."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[2] or not parts[5]:
        raise ValueError(f"not an ARN: {arn!r}")
    return Arn(parts[1], parts[2], parts[3], parts[4], parts[5])
