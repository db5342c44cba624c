"""Remediation: for each failing check, the boto3 calls that fix it and the same change as Terraform.

`plan.build_plan(inventory, rows, policy, options)` returns `Action`s: shared setup first (log bucket, KMS key,
log groups, the loglake trail), then one or more calls per failing (resource, check). A passing resource is never
in the plan. `apply.apply_plan` makes the calls; `terraform.write_terraform` writes the same changes as HCL.
"""
