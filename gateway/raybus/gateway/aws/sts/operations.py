"""STS's GetCallerIdentity, the first call of many AWS tools (they read the account id from
it): the cluster's configured account id, and the calling access key as the user
``arn:aws:iam::<account>:user/<access key id>`` (raybus has access keys, not users). A request
without a signature, on a cluster that accepts those, is the account's root. The other STS
actions (AssumeRole, GetSessionToken, ...) are not served: raybus issues no credentials.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from raybus.gateway.aws.service import Call

__all__ = ["OPERATIONS"]


async def get_caller_identity(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    account = call.settings.account_id
    if call.caller == "anonymous":
        return {"UserId": account, "Account": account, "Arn": f"arn:aws:iam::{account}:root"}
    return {
        "UserId": call.caller,
        "Account": account,
        "Arn": f"arn:aws:iam::{account}:user/{call.caller}",
    }


OPERATIONS = {"GetCallerIdentity": get_caller_identity}
