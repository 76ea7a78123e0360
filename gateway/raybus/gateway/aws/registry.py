"""The AWS services raybus speaks, by botocore service name. Adding one is a module beside
these and a line here."""

from __future__ import annotations

from collections.abc import Mapping

from raybus.gateway.aws import events, iam, lambda_, s3, sns, sqs, sts
from raybus.gateway.aws.service import AwsService

__all__ = ["SERVICES"]

SERVICES: Mapping[str, AwsService] = {
    service.name: service
    for service in (
        sqs.SERVICE,
        sns.SERVICE,
        lambda_.SERVICE,
        events.SERVICE,
        sts.SERVICE,
        iam.SERVICE,
        s3.SERVICE,
    )
}
