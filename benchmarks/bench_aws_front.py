"""The AWS front's protocol work per request, in this process: what raybus spends to recognise,
authenticate, parse, validate and answer an AWS request, before and after the native operation
it turns into (which ``bench_queue --only raybus-sqs`` measures end to end).

    .venv/bin/python -m benchmarks.bench_aws_front               # every case, median of 5 runs
    .venv/bin/python -m benchmarks.bench_aws_front --runs 9 --requests 5000

Cases (1 KiB message bodies, as ``bench_queue``):

- ``sqs-json SendMessageBatch×10``: the JSON 1.0 request of 10 entries and its answer;
- ``sqs-json ReceiveMessage×10``: the request, and an answer of 10 messages with attributes;
- ``sqs-query SendMessage``: a form request of an older SDK, and its XML answer;
- ``sns-query Publish``: SNS's form request with two message attributes, and its XML answer.

Each run times ``--requests`` requests; the table shows the median µs per request of the runs
and, per stage, the median share. The signature is parsed but not verified (the default:
no ``--aws-credentials``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from raybus.gateway.aws.protocols import WireRequest, codec_for, validate
from raybus.gateway.aws.recognize import recognize
from raybus.gateway.aws.sigv4 import parse_authorization

BODY = "x" * 1024
MD5 = "d41d8cd98f00b204e9800998ecf8427e"
MESSAGE_ID = "0f3c6b3e-7d0c-4c36-9d8e-4b5b7f0f1a11"
STAGES = ("recognize", "authenticate", "parse", "validate", "serialize")


def _headers(service: str, **extra: str) -> dict[str, str]:
    scope = f"test/20260101/us-east-1/{service}/aws4_request"
    return {
        "Authorization": f"AWS4-HMAC-SHA256 Credential={scope}, "
        "SignedHeaders=host;x-amz-date, Signature=0",
        "X-Amz-Date": "20260101T000000Z",
        "Host": "127.0.0.1:8000",
        **extra,
    }


def _json(target: str, payload: dict[str, Any]) -> WireRequest:
    headers = _headers(
        "sqs", **{"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.0"}
    )
    return WireRequest("POST", "/", (), headers, json.dumps(payload).encode())


def _form(service: str, form: dict[str, str]) -> WireRequest:
    headers = _headers(service, **{"Content-Type": "application/x-www-form-urlencoded"})
    return WireRequest("POST", "/", (), headers, urllib.parse.urlencode(form).encode())


QUEUE_URL = "http://127.0.0.1:8000/000000000000/q"


@dataclass(frozen=True)
class Case:
    name: str
    request: WireRequest
    output: dict[str, Any]


def cases() -> list[Case]:
    entries = [{"Id": str(i), "MessageBody": BODY} for i in range(10)]
    sent = [{"Id": str(i), "MessageId": MESSAGE_ID, "MD5OfMessageBody": MD5} for i in range(10)]
    received = [
        {
            "MessageId": MESSAGE_ID,
            "ReceiptHandle": "r" * 160,
            "MD5OfBody": MD5,
            "Body": BODY,
            "Attributes": {"SentTimestamp": "1700000000000", "ApproximateReceiveCount": "1"},
        }
        for _ in range(10)
    ]
    publish_form = {
        "Action": "Publish",
        "Version": "2010-03-31",
        "TopicArn": "arn:aws:sns:us-east-1:000000000000:t",
        "Message": BODY,
        "MessageAttributes.entry.1.Name": "colour",
        "MessageAttributes.entry.1.Value.DataType": "String",
        "MessageAttributes.entry.1.Value.StringValue": "red",
        "MessageAttributes.entry.2.Name": "size",
        "MessageAttributes.entry.2.Value.DataType": "Number",
        "MessageAttributes.entry.2.Value.StringValue": "3",
    }
    send_form = {
        "Action": "SendMessage",
        "Version": "2012-11-05",
        "QueueUrl": QUEUE_URL,
        "MessageBody": BODY,
    }
    return [
        Case(
            "sqs-json SendMessageBatch×10",
            _json("AmazonSQS.SendMessageBatch", {"QueueUrl": QUEUE_URL, "Entries": entries}),
            {"Successful": sent, "Failed": []},
        ),
        Case(
            "sqs-json ReceiveMessage×10",
            _json(
                "AmazonSQS.ReceiveMessage",
                {"QueueUrl": QUEUE_URL, "MaxNumberOfMessages": 10, "AttributeNames": ["All"]},
            ),
            {"Messages": received},
        ),
        Case(
            "sqs-query SendMessage",
            _form("sqs", send_form),
            {"MessageId": MESSAGE_ID, "MD5OfMessageBody": MD5},
        ),
        Case("sns-query Publish", _form("sns", publish_form), {"MessageId": MESSAGE_ID}),
    ]


def run_case(case: Case, requests: int) -> dict[str, float]:
    """Seconds spent per stage over ``requests`` requests."""
    spent = dict.fromkeys(STAGES, 0.0)
    clock = time.perf_counter
    request = case.request
    for _ in range(requests):
        t0 = clock()
        recognized = recognize(request)
        assert recognized is not None
        t1 = clock()
        codec = codec_for(recognized.service, protocol=recognized.protocol)
        parse_authorization(request)
        t2 = clock()
        operation = codec.operation(request)
        params = codec.parse(operation, request)
        t3 = clock()
        problems = validate(operation.input_shape, params)
        t4 = clock()
        codec.serialize(operation, case.output, "request-id")
        t5 = clock()
        assert not problems, problems
        for stage, seconds in zip(
            STAGES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4), strict=True
        ):
            spent[stage] += seconds
    return spent


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args(argv)
    width = max(len(case.name) for case in cases())
    print(f"{'case':<{width}}  µs/request  " + "  ".join(f"{s:>12}" for s in STAGES))
    for case in cases():
        runs = [run_case(case, args.requests) for _ in range(args.runs)]
        totals = [sum(r.values()) for r in runs]
        per_request = statistics.median(totals) / args.requests * 1e6
        cells = [
            f"{statistics.median(r[s] / sum(r.values()) for r in runs):>11.0%}" for s in STAGES
        ]
        print(
            f"{case.name:<{width}}  {per_request:>10.1f}  " + "  ".join(f"{c:>12}" for c in cells)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
