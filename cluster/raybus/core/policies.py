"""Whether a resource policy grants an AWS service principal an action: the one place raybus
reads an IAM document.

raybus enforces no IAM (docs/aws-sts-iam.md): queue, topic and function policies are stored
and reported. One check reads them, because S3 does it when a bucket's notifications are
configured: a destination's policy must let ``s3.amazonaws.com`` send to it (else S3 answers
"Unable to validate the following destination configurations"). :func:`grants` evaluates a
policy as IAM does for that question — an explicit ``Deny`` wins, then some ``Allow`` must
match — over the elements such policies use: ``Principal`` (``"*"``, ``{"AWS": "*"}``,
``{"Service": ...}``), ``Action``/``NotAction`` and ``Resource`` with ``*`` and ``?``
wildcards, and the conditions ``ArnLike``/``ArnEquals``/``StringEquals``/``StringLike`` on
``aws:SourceArn`` and ``aws:SourceAccount`` (other conditions count as not met for an Allow
and as met for a Deny: the careful reading).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["grants"]


def _listed(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _like(pattern: str, value: str) -> bool:
    """IAM's wildcards: ``*`` any run of characters, ``?`` one; nothing else is special."""
    regex = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern
    )
    return re.fullmatch(regex, value, re.DOTALL) is not None


def _principal(statement: Mapping[str, Any], service: str) -> bool:
    principal = statement.get("Principal")
    if principal == "*":
        return True
    if isinstance(principal, Mapping):
        if "*" in _listed(principal.get("AWS")):
            return True
        return service in _listed(principal.get("Service"))
    return False


def _action(statement: Mapping[str, Any], action: str) -> bool:
    if "NotAction" in statement:
        return not any(_like(p.lower(), action.lower()) for p in _listed(statement["NotAction"]))
    return any(_like(p.lower(), action.lower()) for p in _listed(statement.get("Action")))


def _resource(statement: Mapping[str, Any], resource: str) -> bool:
    wanted = _listed(statement.get("Resource", "*"))
    return any(_like(p, resource) for p in wanted)


_CONDITIONS = {
    "ArnLike": _like,
    "ArnEquals": lambda p, v: p == v,
    "StringEquals": lambda p, v: p == v,
    "StringLike": _like,
}


def _conditions(statement: Mapping[str, Any], context: Mapping[str, str], allow: bool) -> bool:
    block = statement.get("Condition")
    if not isinstance(block, Mapping):
        return True
    for operator, tests in block.items():
        check = _CONDITIONS.get(operator)
        if check is None or not isinstance(tests, Mapping):
            return not allow
        for key, patterns in tests.items():
            value = context.get(str(key).lower())
            if value is None or not any(check(p, value) for p in _listed(patterns)):
                return False
    return True


def grants(
    policy: str | None,
    *,
    service: str,
    action: str,
    resource: str,
    source_arn: str,
    source_account: str,
) -> bool:
    """Whether ``policy`` (JSON text) lets ``service`` (``s3.amazonaws.com``) do ``action`` on
    ``resource`` for ``source_arn``. A missing or unreadable policy grants nothing."""
    if not policy:
        return False
    try:
        document = json.loads(policy)
    except ValueError:
        return False
    statements = document.get("Statement") if isinstance(document, Mapping) else None
    if isinstance(statements, Mapping):
        statements = [statements]
    if not isinstance(statements, list):
        return False
    context = {"aws:sourcearn": source_arn, "aws:sourceaccount": source_account}
    allowed = False
    for statement in statements:
        if not isinstance(statement, Mapping):
            continue
        effect = statement.get("Effect")
        if not (
            _principal(statement, service)
            and _action(statement, action)
            and _resource(statement, resource)
        ):
            continue
        if effect == "Deny" and _conditions(statement, context, allow=False):
            return False
        if effect == "Allow" and _conditions(statement, context, allow=True):
            allowed = True
    return allowed
