"""`loglake iac check`: the posture audit run on infrastructure-as-code before it is deployed.

Each reader turns one kind of source into the posture pipeline's own Inventory (`inventory/snapshot.py`), with every
resource carrying where it is written (`res["source"]`: file, line, address):

    terraform_plan.py  `terraform show -json` plans  \\
    terraform_hcl.py   folders of .tf files           > terraform.py (aws_* resources -> inventory resources)
    cloudformation.py  CloudFormation / SAM templates (YAML or JSON, intrinsic functions)

`resources.py` builds the inventory resources (the same config keys the live collectors write), so the live
classifier and checks run unchanged; `check.py` finds the files, runs `policy.audit` on each stack and adds the
location, the suggested fix (`fixes.py`) and the checks code cannot decide.
"""
