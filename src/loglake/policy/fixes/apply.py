"""Make the planned calls, in order; a failing call is reported and the rest go on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from loglake.inventory.aws import Aws, describe_error
from loglake.policy.fixes.actions import Action, resolve


@dataclass
class Outcome:
    action: Action
    status: str  # done, skipped (already there), error
    detail: str = ""


def apply_plan(
    actions: list[Action],
    profile: str | None,
    endpoint_url: str | None,
    progress: Callable[[str], None] | None = None,
) -> list[Outcome]:
    sessions: dict[str, Aws] = {}
    refs: dict[str, Any] = {}
    outcomes = []
    for action in actions:
        aws = sessions.setdefault(action.region, Aws(profile, action.region, endpoint_url))
        client = aws.client(action.service)
        try:
            found = action.exists(client) if action.exists else None
            if found is not None:
                if action.produces:
                    refs[action.produces] = found
                outcomes.append(Outcome(action, "skipped", f"already there: {found}"))
            else:
                params = resolve(action.params, refs)
                if action.prepare:
                    params = action.prepare(client, params)
                answer = getattr(client, action.operation)(**params)
                if action.produces and action.extract:
                    refs[action.produces] = action.extract(answer)
                outcomes.append(Outcome(action, "done"))
        except (ClientError, BotoCoreError, KeyError) as error:
            outcomes.append(
                Outcome(
                    action, "error", describe_error(error) if not isinstance(error, KeyError) else f"missing {error}"
                )
            )
        if progress:
            progress(action.purpose)
    return outcomes
