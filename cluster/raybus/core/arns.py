"""AWS-shaped identifiers for raybus resources: ARNs and SQS queue URLs.

raybus has no accounts or regions, but handlers written for AWS read ARNs out of their events
(``eventSourceARN``, ``TopicArn``, ``invoked_function_arn``) and split them on ``:``, and AWS
clients send them back. Every ARN raybus writes uses the cluster's AWS identity: by default
the region and account local AWS stand-ins use (``us-east-1``, ``000000000000``), else what
``raybus up --aws-account-id/--aws-region`` set. The cluster's identity travels in the routing
table; every process that installs a table adopts it (:func:`use_identity`).

Formats (AWS's): ``arn:aws:sqs:<region>:<account>:<queue>``,
``arn:aws:sns:<region>:<account>:<topic>``, ``arn:aws:sns:<region>:<account>:<topic>:<id>``
for a subscription, ``arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]``.
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = [
    "ACCOUNT_ID",
    "LATEST",
    "PARTITION",
    "REGION",
    "SNS_ENDPOINT",
    "SQS_ENDPOINT",
    "Arn",
    "account_id",
    "api_destination_arn",
    "archive_arn",
    "bucket_arn",
    "bus_arn",
    "check_identity",
    "function_arn",
    "parse_arn",
    "queue_arn",
    "queue_url",
    "region",
    "rule_arn",
    "subscription_arn",
    "topic_arn",
    "use_identity",
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


_identity = {"account": ACCOUNT_ID, "region": REGION}
_ACCOUNT = re.compile(r"^[0-9]{12}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$")


def check_identity(account: str, region_name: str) -> None:
    """An account id is 12 digits; a region looks like ``us-east-1`` (``ValueError``)."""
    if not isinstance(account, str) or not _ACCOUNT.match(account):
        raise ValueError(f"an AWS account id is 12 digits, not {account!r}")
    if not isinstance(region_name, str) or not _REGION.match(region_name):
        raise ValueError(f"an AWS region looks like us-east-1, not {region_name!r}")


def use_identity(account: str, region_name: str) -> None:
    """The cluster's AWS account id and region, for every ARN this process writes."""
    _identity["account"] = account
    _identity["region"] = region_name


def account_id() -> str:
    return _identity["account"]


def region() -> str:
    return _identity["region"]


def _arn(service: str, resource: str) -> str:
    return f"arn:{PARTITION}:{service}:{region()}:{account_id()}:{resource}"


def queue_arn(name: str) -> str:
    return _arn("sqs", name)


def queue_url(name: str, endpoint: str = SQS_ENDPOINT) -> str:
    """SQS's queue URL form, ``<endpoint>/<account>/<name>``."""
    return f"{endpoint.rstrip('/')}/{account_id()}/{name}"


def topic_arn(name: str) -> str:
    return _arn("sns", name)


def subscription_arn(topic: str, subscription_id: str) -> str:
    return f"{topic_arn(topic)}:{subscription_id}"


def function_arn(name: str, qualifier: str | None = None) -> str:
    """The unqualified ARN, or with ``qualifier`` (``"$LATEST"``, a version or an alias)."""
    resource = f"function:{name}"
    return _arn("lambda", resource if qualifier is None else f"{resource}:{qualifier}")


def bus_arn(name: str) -> str:
    return _arn("events", f"event-bus/{name}")


def archive_arn(name: str) -> str:
    return _arn("events", f"archive/{name}")


def api_destination_arn(name: str) -> str:
    return _arn("events", f"api-destination/{name}")


def bucket_arn(name: str) -> str:
    """S3's bucket ARN: no region, no account (``arn:aws:s3:::<name>``)."""
    return f"arn:aws:s3:::{name}"


def rule_arn(bus: str, rule: str) -> str:
    """EventBridge's rule ARN: ``rule/<name>`` on the default bus, ``rule/<bus>/<name>`` on
    any other."""
    return _arn("events", f"rule/{rule}" if bus == "default" else f"rule/{bus}/{rule}")


def parse_arn(arn: str) -> Arn:
    """Split an ARN into its parts; ``ValueError`` if it is not ``arn:<p>:<s>:<r>:<a>:<res>``."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[2] or not parts[5]:
        raise ValueError(f"not an ARN: {arn!r}")
    return Arn(parts[1], parts[2], parts[3], parts[4], parts[5])
