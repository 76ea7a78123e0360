"""raybus.functions: Lambda-style functions — the AWS event shapes they receive and send, and
(in :mod:`raybus.functions.runtime`, which imports Ray) the runtime that runs them on Ray.

Pure and Ray-free at import: the SQS event (:mod:`~raybus.functions.events`), the SNS
envelope, Lambda SNS event and HTTP headers (:mod:`~raybus.functions.envelope`), partial batch
responses (:mod:`~raybus.functions.batch_response`), destination records and DLQ messages
(:mod:`~raybus.functions.destinations`), the handler context
(:mod:`~raybus.functions.context`), handler loading (:mod:`~raybus.functions.loader`), zip
deployment packages (:mod:`~raybus.functions.archive`), Lambda's runtime environment
(:mod:`~raybus.functions.environment`), the log an invocation leaves
(:mod:`~raybus.functions.logs`) and running one handler call in a function's sandbox
(:mod:`~raybus.functions.sandbox`). Import ``raybus.functions.runtime`` for
:class:`~raybus.functions.runtime.Invoker`.
"""

from raybus.functions.archive import check_archive
from raybus.functions.batch_response import failed_items
from raybus.functions.context import LambdaContext
from raybus.functions.destinations import (
    Condition,
    DeadLetterMessage,
    dead_letter,
    dlq_attributes,
    invocation_record,
)
from raybus.functions.envelope import (
    TopicMessage,
    http_headers,
    iso_timestamp,
    sns_envelope,
    sns_event,
    sns_message_attributes,
)
from raybus.functions.environment import runtime_environment
from raybus.functions.events import sqs_event, sqs_message_attributes, sqs_record
from raybus.functions.loader import (
    check_handler,
    code_sha256,
    load_handler,
    load_lambda_handler,
    serialize_handler,
)
from raybus.functions.sandbox import CodeSpec, InvocationResult, Sandbox, run_handler

__all__ = [
    "CodeSpec",
    "Condition",
    "DeadLetterMessage",
    "InvocationResult",
    "LambdaContext",
    "Sandbox",
    "TopicMessage",
    "check_archive",
    "check_handler",
    "code_sha256",
    "dead_letter",
    "dlq_attributes",
    "failed_items",
    "http_headers",
    "invocation_record",
    "iso_timestamp",
    "load_handler",
    "load_lambda_handler",
    "run_handler",
    "runtime_environment",
    "serialize_handler",
    "sns_envelope",
    "sns_event",
    "sns_message_attributes",
    "sqs_event",
    "sqs_message_attributes",
    "sqs_record",
]
