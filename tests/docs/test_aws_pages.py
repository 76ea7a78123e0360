"""Each AWS service page (docs/aws-<service>.md) lists every action of the service's botocore
model exactly once in its "Actions" table, and its status matches the code: an action marked
supported (or accepted, not enforced) is served by the service module, one marked not supported
is not."""

from __future__ import annotations

import re

import botocore.session
import pytest

from raybus.gateway.aws.registry import SERVICES
from tests.docs.blocks import ROOT

PAGES = {"sqs": "docs/aws-sqs.md", "sns": "docs/aws-sns.md"}
_SERVED = ("supported", "accepted, not enforced")
_NOT_SERVED = "not supported"


def action_table(page: str) -> dict[str, str]:
    """Action name → status, from the rows of the page's "## Actions" table."""
    text = (ROOT / page).read_text()
    section = text.split("\n## Actions\n", 1)[1].split("\n## ", 1)[0]
    statuses: dict[str, str] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 2 or cells[0] in ("action", "") or set(cells[0]) <= {"-"}:
            continue
        for action in re.findall(r"\b[A-Z][A-Za-z]+\b", cells[0]):
            assert action not in statuses, f"{page}: {action} is listed twice"
            statuses[action] = cells[1]
    return statuses


@pytest.mark.parametrize("service", sorted(PAGES))
def test_the_page_lists_every_action_of_the_model_with_its_true_status(service: str) -> None:
    statuses = action_table(PAGES[service])
    model = botocore.session.get_session().get_service_model(service)
    assert sorted(statuses) == sorted(model.operation_names)
    served = SERVICES[service].operations
    for action, status in statuses.items():
        assert status in (*_SERVED, _NOT_SERVED), f"{action}: unknown status {status!r}"
        assert (action in served) == (status in _SERVED), f"{action} is {status!r} in the docs"
