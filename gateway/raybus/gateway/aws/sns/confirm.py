"""Confirming HTTP(S) subscriptions, as SNS does.

A subscription to an HTTP(S) endpoint made through SNS's API waits for its endpoint: the
gateway POSTs a ``SubscriptionConfirmation`` message carrying a token and a ``SubscribeURL``
(this gateway's ``ConfirmSubscription`` with the topic and the token). The endpoint confirms by
fetching the URL, or its owner calls ``ConfirmSubscription`` with the token; from then on the
subscription gets the topic's messages. The POST is tried a few times (1, 2, 4 s apart, real
time) and then left pending, as SNS leaves it; a pending subscription can be deleted.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
import uuid
from urllib.parse import quote

import aiohttp

from raybus.core.topics import SubscriptionConfig
from raybus.gateway.aws.service import Call

__all__ = ["confirmation_message", "new_token", "send_confirmation"]

log = logging.getLogger(__name__)

ATTEMPTS = 4
TIMEOUT_S = 15.0
SIGNING_CERT_URL = "https://sns.amazonaws.com/SimpleNotificationService-raybus.pem"


def new_token() -> str:
    """A confirmation token: 128 hex characters, like SNS's."""
    return secrets.token_hex(64)


def _timestamp(seconds: float) -> str:
    whole = int(seconds)
    millis = int((seconds - whole) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{millis:03d}Z"


def confirmation_message(call: Call, sub: SubscriptionConfig) -> tuple[dict[str, str], str]:
    """The headers and JSON body of the ``SubscriptionConfirmation`` POST."""
    assert sub.pending_token is not None
    topic_arn = call.arn("sns", sub.topic)
    message_id = str(uuid.uuid4())
    subscribe_url = (
        f"{call.base_url}/?Action=ConfirmSubscription&TopicArn={quote(topic_arn, safe='')}"
        f"&Token={sub.pending_token}"
    )
    body = {
        "Type": "SubscriptionConfirmation",
        "MessageId": message_id,
        "Token": sub.pending_token,
        "TopicArn": topic_arn,
        "Message": f"You have chosen to subscribe to the topic {topic_arn}.\n"
        "To confirm the subscription, visit the SubscribeURL included in this message.",
        "SubscribeURL": subscribe_url,
        "Timestamp": _timestamp(time.time()),
        "SignatureVersion": "1",
        "Signature": "",  # raybus holds no AWS signing key: nothing to verify (docs/aws-sns.md)
        "SigningCertURL": SIGNING_CERT_URL,
    }
    headers = {
        "x-amz-sns-message-type": "SubscriptionConfirmation",
        "x-amz-sns-message-id": message_id,
        "x-amz-sns-topic-arn": topic_arn,
        "Content-Type": "text/plain; charset=UTF-8",
        "User-Agent": "Amazon Simple Notification Service Agent",
    }
    return headers, json.dumps(body)


async def send_confirmation(call: Call, sub: SubscriptionConfig) -> None:
    """POST the confirmation request to the endpoint (a few tries); never raises."""
    headers, body = confirmation_message(call, sub)
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for attempt in range(ATTEMPTS):
            try:
                async with session.post(sub.endpoint, data=body, headers=headers) as response:
                    if 200 <= response.status < 300:
                        return
                    log.info("confirmation POST to %s answered %d", sub.endpoint, response.status)
            except (aiohttp.ClientError, TimeoutError, OSError) as error:
                log.info("confirmation POST to %s failed: %r", sub.endpoint, error)
            if attempt + 1 < ATTEMPTS:
                await asyncio.sleep(2**attempt)
