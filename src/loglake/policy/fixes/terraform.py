"""The same changes as Terraform: new resources in loglake_logging.tf (valid HCL, `terraform plan` ready), and the
arguments to add to resources that your Terraform already manages in loglake_changes_to_existing.tf.example."""

from __future__ import annotations

from pathlib import Path

from loglake.policy.fixes.actions import Action

HEADER = (
    "# Written by `loglake remediate --terraform`: the logging that the audit found missing.\n"
    "# Review, then `terraform plan`. Nothing here changes a resource that passed the audit.\n\n"
)
PATCH_HEADER = (
    "# Arguments to add to resources your Terraform already manages (loglake cannot know their definitions).\n"
    "# Each block names the resource; merge the lines into it. Renamed .example so Terraform does not load it.\n\n"
)


def write_terraform(actions: list[Action], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    new, patches, seen = [], [], set()
    for action in actions:
        if not action.terraform or action.terraform in seen:
            continue
        seen.add(action.terraform)
        (patches if action.terraform_patch else new).append(action.terraform)
    written = []
    main = folder / "loglake_logging.tf"
    main.write_text(HEADER + "\n".join(new))
    written.append(main)
    if patches:
        patch = folder / "loglake_changes_to_existing.tf.example"
        patch.write_text(PATCH_HEADER + "\n".join(patches))
        written.append(patch)
    return written


def terraform_by_finding(actions: list[Action]) -> dict[tuple[str, str], str]:
    """(check_id, resource ARN) -> the Terraform that fixes it: the text `write_terraform` writes for it."""
    found: dict[tuple[str, str], list[str]] = {}
    for action in actions:
        for fix in action.fixes:
            if action.terraform and action.terraform not in found.setdefault(fix, []):
                found[fix].append(action.terraform)
    return {fix: "\n".join(texts) for fix, texts in found.items() if texts}
