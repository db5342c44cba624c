"""IaC fixtures are files written for these tests (tests/iac/fixtures): a Terraform root module, the plan
`terraform show -json` gives for it, CloudFormation templates (YAML short forms, JSON long forms) and a SAM template."""

from __future__ import annotations

from pathlib import Path

import pytest

from loglake.policy.config import Policy, load_policy
from tests.posture.conftest import account  # noqa: F401 - the moto_server account fixture, for the live comparison

FIXTURES = Path(__file__).parent / "fixtures"
HCL = FIXTURES / "terraform"
PLAN = FIXTURES / "terraform_plan" / "plan.json"
CFN = FIXTURES / "cloudformation"
SAM = FIXTURES / "sam" / "template.yaml"


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy(None)


def outcomes(rows: list[dict]) -> dict[tuple[str, str], tuple[str, str]]:
    """(address, check_id) -> (status, severity): what a reader of the report acts on."""
    return {(r["address"], r["check_id"]): (r["status"], r["severity"]) for r in rows}


def line_of(path: Path, text: str) -> int:
    """1-based line of the first line of `path` containing `text`."""
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)
