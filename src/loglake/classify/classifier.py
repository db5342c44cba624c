"""Sensitivity and reachability per resource, each with the evidence that set it, and the conflicts between what
a resource is labelled (tags, name) and what it really is (measured exposure, data found in it).

Precedence: sensitivity = the label (tag, then name), raised by discovered data; else the environment's default;
else `classification.defaults`. Reachability = the most exposed of the label and the measured exposure; a label
that claims less exposure than measured is a conflict. A VPC takes the highest of what runs in it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from loglake.classify.exposure import measure
from loglake.classify.naming import parse_name
from loglake.inventory import snapshot as t
from loglake.inventory.snapshot import Inventory
from loglake.policy.config import REACHABILITIES, SENSITIVITIES, Policy

# resource types that are classified (the rest of the snapshot, e.g. trails and log groups, only has baseline checks)
CLASSIFIED = (
    t.S3_BUCKET,
    t.VPC,
    t.INSTANCE,
    t.ELBV2,
    t.CLB,
    t.CLOUDFRONT,
    t.APIGW_STAGE,
    t.APIGWV2_STAGE,
    t.RDS_INSTANCE,
    t.RDS_CLUSTER,
    t.DYNAMODB_TABLE,
    t.LAMBDA_FUNCTION,
    t.OPENSEARCH_DOMAIN,
)


@dataclass
class Classification:
    arn: str
    type: str
    name: str
    sensitivity: str
    reachability: str
    environment: str | None = None
    sensitivity_evidence: list[str] = field(default_factory=list)
    reachability_evidence: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    measured_reachability: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def rank_sensitivity(value: str) -> int:
    return len(SENSITIVITIES) - SENSITIVITIES.index(value)


def rank_reachability(value: str) -> int:
    return len(REACHABILITIES) - REACHABILITIES.index(value)


def label_name(res: dict[str, Any]) -> str:
    """The name the naming grammar reads: an API stage is named by its API, anything else by its name."""
    return res["config"].get("api_name") or res["name"]


def classify_inventory(inventory: Inventory, policy: Policy) -> dict[str, Classification]:
    results = {
        r["arn"]: classify_resource(r, inventory, policy) for r in inventory.resources if r["type"] in CLASSIFIED
    }
    _roll_up_vpcs(inventory, results)
    return results


def classify_resource(res: dict[str, Any], inventory: Inventory, policy: Policy) -> Classification:
    rules = policy.classification
    tags = {k.lower(): (k, v) for k, v in (res.get("tags") or {}).items()}
    sensitivity_words = [w for words in rules["sensitivity_values"].values() for w in words]
    parts = parse_name(label_name(res), rules["naming"], sensitivity_words)
    result = Classification(res["arn"], res["type"], res["name"], rules["defaults"]["sensitivity"], "internal")

    # -- sensitivity: label (tag, then name), else environment, else default; raised by discovered data
    label, label_evidence = _tag_value(tags, rules["tags"]["sensitivity"], rules["sensitivity_values"])
    if label is None and parts and parts.sensitivity:
        label = _vocabulary(parts.sensitivity, rules["sensitivity_values"])
        label_evidence = f"name {label_name(res)!r} says {parts.sensitivity}" if label else None
    env_tag = _tag_raw(tags, rules["tags"]["environment"])
    environment = (env_tag[1].lower() if env_tag else None) or (parts.env if parts else None)
    result.environment = environment
    if label:
        result.sensitivity = label
        result.sensitivity_evidence.append(label_evidence)
    elif environment and environment in (rules.get("environments") or {}):
        result.sensitivity = rules["environments"][environment]
        source = f"tag {env_tag[0]}={env_tag[1]}" if env_tag else f"name {label_name(res)!r}"
        result.sensitivity_evidence.append(f"environment {environment} ({source}) defaults to {result.sensitivity}")
    else:
        result.sensitivity_evidence.append(f"nothing known: default {result.sensitivity}")
    found = (inventory.discovery.get(res["arn"]) or {}) if res["type"] == t.S3_BUCKET else {}
    discovered = found.get("sensitivity")
    if discovered and rank_sensitivity(discovered) > rank_sensitivity(result.sensitivity):
        summary = found.get("summary") or "sensitive data"
        if label:
            result.conflicts.append(f"labelled {label} ({label_evidence}) but discovery found {summary}")
        result.sensitivity = discovered
        result.sensitivity_evidence.append(f"discovery found {summary} -> {discovered}")
    elif discovered:
        result.sensitivity_evidence.append(f"discovery: {found.get('summary') or 'nothing sensitive'}")

    # -- reachability: label (tag, then name) vs measured exposure; the more exposed wins
    claim, claim_evidence = _tag_value(tags, rules["tags"]["reachability"], rules["reachability_values"])
    if claim is None and parts and parts.exposure:
        claim = rules["naming"]["exposure"].get(parts.exposure)
        claim_evidence = f"name {label_name(res)!r} says {parts.exposure} ({claim})" if claim else None
    measured, measured_evidence = measure(res, inventory)
    result.measured_reachability = measured
    result.reachability_evidence.extend(measured_evidence)
    if claim and measured and rank_reachability(measured) > rank_reachability(claim):
        result.reachability = measured
        result.conflicts.append(f"{claim_evidence} but measured {measured}: {'; '.join(measured_evidence)}")
    elif claim and measured and rank_reachability(measured) < rank_reachability(claim):
        result.reachability = claim
        result.reachability_evidence.insert(0, f"{claim_evidence} (more exposed than measured {measured})")
    elif claim:
        result.reachability = claim
        result.reachability_evidence.insert(0, claim_evidence)
    elif measured:
        result.reachability = measured
    else:
        result.reachability = rules["defaults"]["reachability"]
        result.reachability_evidence.append(f"nothing known: default {result.reachability}")
    return result


def _roll_up_vpcs(inventory: Inventory, results: dict[str, Classification]) -> None:
    members: dict[str, list[tuple[dict[str, Any], Classification]]] = {}
    for res in inventory.resources:
        if res["type"] != t.VPC and res.get("vpc_id") and res["arn"] in results:
            members.setdefault(res["vpc_id"], []).append((res, results[res["arn"]]))
    for res in inventory.by_type(t.VPC):
        vpc = results.get(res["arn"])
        if vpc is None:
            continue
        inside = members.get(res["config"].get("vpc_id") or res.get("vpc_id"), [])
        if not inside:
            continue
        top_s = max(inside, key=lambda m: rank_sensitivity(m[1].sensitivity))
        if rank_sensitivity(top_s[1].sensitivity) > rank_sensitivity(vpc.sensitivity):
            vpc.sensitivity = top_s[1].sensitivity
            vpc.sensitivity_evidence.append(f"holds {top_s[0]['name']} ({top_s[1].sensitivity})")
        top_r = max(inside, key=lambda m: rank_reachability(m[1].reachability))
        if rank_reachability(top_r[1].reachability) > rank_reachability(vpc.reachability):
            exposed = [m for m in inside if m[1].measured_reachability == "internet"]
            claimed = [e for e in vpc.reachability_evidence if e.startswith(("tag ", "name "))]
            if exposed and claimed and vpc.reachability != "internet":
                vpc.conflicts.append(f"{claimed[0]} but {exposed[0][0]['name']} inside it is measured internet")
            vpc.reachability = top_r[1].reachability
            vpc.reachability_evidence.append(f"runs {top_r[0]['name']} ({top_r[1].reachability})")


def _tag_raw(tags: dict[str, tuple[str, str]], keys: list[str]) -> tuple[str, str] | None:
    for key in keys:
        if key.lower() in tags:
            return tags[key.lower()]
    return None


def _tag_value(
    tags: dict[str, tuple[str, str]], keys: list[str], vocabulary: dict[str, list[str]]
) -> tuple[str | None, str | None]:
    found = _tag_raw(tags, keys)
    if not found:
        return None, None
    value = _vocabulary(found[1], vocabulary)
    if value is None:
        return None, None
    return value, f"tag {found[0]}={found[1]}"


def _vocabulary(word: str, vocabulary: dict[str, list[str]]) -> str | None:
    word = word.strip().lower()
    for value, words in vocabulary.items():
        if word in (w.lower() for w in words):
            return value
    return None
