"""Each AWS service page (docs/aws-<service>.md) lists every action of the service's botocore
model exactly once in its actions table, and its status matches the code: an action marked
supported (or accepted, not enforced) is served by the service module, one marked not supported
is not. STS's and IAM's models are large and mostly unserved: their page lists every served
action and sums up the rest."""

from __future__ import annotations

import re

import botocore.session
import pytest

from raybus.gateway.aws.registry import SERVICES
from tests.docs.blocks import ROOT

# service -> (page, section holding its actions table)
PAGES = {
    "sqs": ("docs/aws-sqs.md", "Actions"),
    "sns": ("docs/aws-sns.md", "Actions"),
    "lambda": ("docs/aws-lambda.md", "Actions"),
    "events": ("docs/aws-events.md", "Actions"),
    "s3": ("docs/aws-s3.md", "Actions"),
}
SUMMED_UP = {"sts": ("docs/aws-sts-iam.md", "STS"), "iam": ("docs/aws-sts-iam.md", "IAM")}
_SERVED = ("supported", "accepted, not enforced")
_NOT_SERVED = "not supported"


def action_table(page: str, heading: str) -> dict[str, str]:
    """Action name → status, from the rows of the table under the page's ``## heading``."""
    text = (ROOT / page).read_text()
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    statuses: dict[str, str] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 2 or cells[0] in ("action", "") or set(cells[0]) <= {"-"}:
            continue
        for action in re.findall(r"\b[A-Z][A-Za-z0-9]+\b", cells[0]):
            assert action not in statuses, f"{page}: {action} is listed twice"
            statuses[action] = cells[1]
    return statuses


@pytest.mark.parametrize("service", sorted(PAGES))
def test_the_page_lists_every_action_of_the_model_with_its_true_status(service: str) -> None:
    statuses = action_table(*PAGES[service])
    model = botocore.session.get_session().get_service_model(service)
    assert sorted(statuses) == sorted(model.operation_names)
    served = SERVICES[service].operations
    for action, status in statuses.items():
        assert status in (*_SERVED, _NOT_SERVED), f"{action}: unknown status {status!r}"
        assert (action in served) == (status in _SERVED), f"{action} is {status!r} in the docs"


@pytest.mark.parametrize("service", sorted(SUMMED_UP))
def test_the_page_lists_every_served_action_with_its_true_status(service: str) -> None:
    statuses = action_table(*SUMMED_UP[service])
    model = botocore.session.get_session().get_service_model(service)
    served = SERVICES[service].operations
    assert set(served) <= set(statuses), f"served but not listed: {set(served) - set(statuses)}"
    for action, status in statuses.items():
        assert action in model.operation_names, f"{action} is not an action of {service}"
        assert (action in served) == (status in _SERVED), f"{action} is {status!r} in the docs"
