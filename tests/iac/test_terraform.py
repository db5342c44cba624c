"""Terraform: the HCL folder and its plan read into the same inventory, classified and audited by the live checks."""

from __future__ import annotations

import json
import shutil

from loglake.iac.check import check_paths
from loglake.inventory import snapshot as t
from loglake.policy.fixes.plan import RemediationOptions, build_plan
from loglake.policy.fixes.terraform import write_terraform
from tests.iac.conftest import FIXTURES, HCL, PLAN, line_of, outcomes

# what the fixture's code says, worked out by hand from policy defaults (see the comments in the .tf files)
EXPECTED = {
    ("aws_s3_bucket.logs", "s3.data_events.write"): ("pass", "medium"),
    ("aws_s3_bucket.payments", "s3.server_access_logging"): ("pass", "high"),
    ("aws_s3_bucket.payments", "s3.data_events.read"): ("pass", "high"),
    ("aws_s3_bucket.payments", "s3.data_events.write"): ("pass", "high"),
    ("aws_s3_bucket.website", "s3.server_access_logging"): ("fail", "high"),
    ("aws_s3_bucket.website", "s3.data_events.read"): ("fail", "high"),
    ("aws_s3_bucket.website", "s3.data_events.write"): ("fail", "high"),
    ("aws_s3_bucket.scratch", "s3.data_events.write"): ("fail", "medium"),
    ("aws_s3_bucket.scratch", "classification.conflict"): ("fail", "high"),
    ("aws_s3_bucket.reports", "s3.data_events.write"): ("manual", "medium"),
    ("aws_vpc.main", "vpc.flow_logs.all"): ("pass", "high"),
    ("aws_vpc.main", "classification.conflict"): ("fail", "high"),
    ("aws_vpc.edge", "vpc.flow_logs.all"): ("fail", "high"),
    ("aws_vpc.batch", "vpc.flow_logs.reject"): ("fail", "medium"),
    ("aws_lb.web", "elb.access_logs"): ("pass", "high"),
    ("aws_lb.web", "alb.connection_logs"): ("fail", "high"),
    ("aws_lb.web", "classification.conflict"): ("fail", "high"),
    ("aws_lb.api", "elb.access_logs"): ("fail", "medium"),
    ("aws_cloudfront_distribution.cdn", "cloudfront.logging"): ("pass", "high"),
    ("aws_api_gateway_stage.orders", "apigw.access_logging"): ("pass", "high"),
    ("aws_api_gateway_stage.orders", "apigw.execution_logging"): ("fail", "high"),
    ("aws_db_instance.payments", "rds.log_exports"): ("fail", "high"),
    ("aws_db_instance.catalog", "rds.log_exports"): ("pass", "medium"),
    ("aws_dynamodb_table.sessions", "dynamodb.data_events"): ("fail", "high"),
    ("aws_cloudtrail.main", "cloudtrail.log_file_validation"): ("pass", "high"),
    ("aws_cloudtrail.main", "cloudtrail.kms"): ("pass", "high"),
    ("aws_cloudtrail.main", "cloudtrail.bucket_not_public"): ("pass", "high"),
    ("aws_cloudtrail.audit", "cloudtrail.log_file_validation"): ("fail", "high"),
    ("aws_cloudtrail.audit", "cloudtrail.kms"): ("fail", "high"),
    ("aws_cloudtrail.audit", "cloudtrail.bucket_not_public"): ("fail", "high"),
}


def test_hcl_folder_gives_the_known_findings(policy):
    report = check_paths([HCL], policy)
    assert report.errors == []
    assert outcomes(report.rows) == EXPECTED
    rows = {(r["address"], r["check_id"]): r for r in report.rows}
    # classification as the live audit does it: tags (default_tags merged), names, measured exposure, VPC roll-up
    website = rows[("aws_s3_bucket.website", "s3.server_access_logging")]
    assert (website["sensitivity"], website["reachability"], website["level"]) == ("internal", "internet", "full")
    scratch = rows[("aws_s3_bucket.scratch", "classification.conflict")]
    assert "AllUsers:READ" in scratch["evidence"] and scratch["sensitivity"] == "public"  # its own tag: dev
    assert (
        "prod-int-web inside it is measured internet" in rows[("aws_vpc.main", "classification.conflict")]["evidence"]
    )
    assert rows[("aws_s3_bucket.payments", "s3.data_events.read")]["sensitivity"] == "restricted"
    # a selector known only after apply is said so, not guessed
    assert (
        "aws_s3_bucket.reports.arn, known only after apply"
        in rows[("aws_s3_bucket.reports", "s3.data_events.write")]["evidence"]
    )
    # the $${...} escapes of HCL are the literal ${...} fields the check reads
    assert "v5 fields" in rows[("aws_vpc.main", "vpc.flow_logs.all")]["evidence"]


def test_findings_point_at_the_resource_block(policy):
    rows = {(r["address"], r["check_id"]): r for r in check_paths([HCL], policy).rows}
    web = rows[("aws_lb.web", "alb.connection_logs")]
    assert web["file"].endswith("tests/iac/fixtures/terraform/network.tf")
    assert web["line"] == line_of(HCL / "network.tf", 'resource "aws_lb" "web"')
    trail = rows[("aws_cloudtrail.audit", "cloudtrail.kms")]
    assert trail["line"] == line_of(HCL / "services.tf", 'resource "aws_cloudtrail" "audit"')


def test_the_plan_gives_the_same_findings_as_its_hcl(policy):
    from_hcl = check_paths([HCL], policy).rows
    from_plan = check_paths([PLAN], policy).rows

    def without_location(rows):
        return [{k: v for k, v in r.items() if k not in ("file", "line")} for r in rows]

    assert without_location(from_plan) == without_location(from_hcl)
    assert outcomes(from_plan) == EXPECTED


def test_plan_findings_point_at_the_plan_or_at_the_tf_beside_it(policy, tmp_path):
    rows = {(r["address"], r["check_id"]): r for r in check_paths([PLAN], policy).rows}
    assert rows[("aws_lb.web", "alb.connection_logs")]["line"] == line_of(PLAN, '"address": "aws_lb.web"')
    # terraform show -json > plan.json run in the root module: the findings point at the .tf source
    module = tmp_path / "module"
    shutil.copytree(HCL, module)
    shutil.copy(PLAN, module / "plan.json")
    rows = {(r["address"], r["check_id"]): r for r in check_paths([module / "plan.json"], policy).rows}
    web = rows[("aws_lb.web", "alb.connection_logs")]
    assert web["file"].endswith("module/network.tf")
    assert web["line"] == line_of(HCL / "network.tf", 'resource "aws_lb" "web"')


def test_terraform_fixes_are_the_text_remediate_writes(policy, tmp_path):
    report = check_paths([HCL], policy)
    stack = report.stacks[0]
    # what `loglake remediate --terraform` writes for the same inventory and failing rows
    live_rows = [{k: v for k, v in r.items() if k not in ("file", "line", "address", "fix")} for r in report.rows]
    live_rows = [{**r, "status": "fail" if r["status"] == "manual" else r["status"]} for r in live_rows]
    actions, _ = build_plan(stack.inventory, live_rows, policy, RemediationOptions(log_bucket="prod-int-central-logs"))
    written = "".join(p.read_text() for p in write_terraform(actions, tmp_path))
    failing = [r for r in report.rows if r["status"] == "fail" and r["check_id"] != "classification.conflict"]
    assert failing and all(r["fix"] and r["fix"] in written for r in failing)
    fixes = {(r["address"], r["check_id"]): r["fix"] for r in failing}
    # the fix names the resource in the code and the log bucket the code already has
    assert 'vpc_id                   = "${aws_vpc.edge.id}"' in fixes[("aws_vpc.edge", "vpc.flow_logs.all")]
    assert (
        'log_destination          = "arn:aws:s3:::prod-int-central-logs"'
        in fixes[("aws_vpc.edge", "vpc.flow_logs.all")]
    )
    assert "connection_logs {" in fixes[("aws_lb.web", "alb.connection_logs")]
    assert '"iam-db-auth-error"' in fixes[("aws_db_instance.payments", "rds.log_exports")]
    assert 'logging_level = "INFO"' in fixes[("aws_api_gateway_stage.orders", "apigw.execution_logging")]


def test_values_known_only_after_apply_do_not_crash_and_are_said(policy, tmp_path):
    (tmp_path / "main.tf").write_text(
        """
variable "names" {
  default = ["a", "b"]
}

resource "aws_s3_bucket" "generated" {
  bucket_prefix = "prod-ext-upload-"
}

resource "aws_s3_bucket_policy" "generated" {
  bucket = aws_s3_bucket.generated.id
  policy = jsonencode({
    Statement = [{
      Effect = "Allow", Principal = "*", Action = "s3:GetObject", Resource = "${aws_s3_bucket.generated.arn}/*"
    }]
  })
}

resource "aws_vpc" "many" {
  count      = 2
  cidr_block = "10.${count.index}.0.0/16"
  tags       = { Name = "prod-int-net-${count.index}" }
}

resource "aws_flow_log" "many" {
  for_each     = toset(var.names)
  vpc_id       = aws_vpc.many[0].id
  traffic_type = "REJECT"
}

resource "aws_s3_bucket" "per_team" {
  for_each = { red = "pci", blue = "internal" }
  bucket   = "prod-int-${each.key}"
  tags     = { Classification = each.value }
}

resource "aws_lb" "elsewhere" {
  name    = "prod-ext-api"
  subnets = data.aws_subnets.shared.ids
}

module "network" {
  source = "./modules/network"
}
"""
    )
    report = check_paths([tmp_path], policy)
    assert report.errors == []
    rows = {(r["address"], r["check_id"]): r for r in report.rows}
    generated = rows[("aws_s3_bucket.generated", "s3.data_events.write")]
    assert "bucket name known only after apply" in generated["evidence"]
    assert "bucket policy of aws_s3_bucket_policy.generated known only after apply" in generated["evidence"]
    assert generated["name"] == "${aws_s3_bucket.generated.id}"
    # count expands like the plan's addresses; a flow log's VPC reference by index resolves
    assert rows[("aws_vpc.many[0]", "vpc.flow_logs.reject")]["status"] == "pass"
    assert rows[("aws_vpc.many[1]", "vpc.flow_logs.reject")]["status"] == "fail"
    assert rows[('aws_s3_bucket.per_team["red"]', "s3.server_access_logging")]["sensitivity"] == "restricted"
    flows = next(r for r in report.stacks[0].inventory.resources if r["name"] == "prod-int-net-0")["config"][
        "flow_logs"
    ]
    assert sorted(f["id"] for f in flows) == ['aws_flow_log.many["a"]', 'aws_flow_log.many["b"]']
    # subnets from a data source: no VPC link, and nothing invented
    stack = report.stacks[0]
    lb = next(r for r in stack.inventory.resources if r["type"] == t.ELBV2)
    assert lb["vpc_id"] is None and lb["config"]["scheme"] == "internet-facing"


def test_plan_with_unknown_policy_says_so(policy, tmp_path):
    plan = json.loads(PLAN.read_text())
    for resource in plan["planned_values"]["root_module"]["resources"]:
        if resource["address"] == "aws_s3_bucket_policy.website":
            del resource["values"]["policy"]  # now computed from the bucket's ARN: known after apply
    for resource in plan["configuration"]["root_module"]["resources"]:
        if resource["address"] == "aws_s3_bucket_policy.website":
            resource["expressions"]["policy"] = {"references": ["aws_s3_bucket.website.arn", "aws_s3_bucket.website"]}
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan, indent=2))
    rows = {(r["address"], r["check_id"]): r for r in check_paths([path], policy).rows}
    row = rows[("aws_s3_bucket.website", "s3.server_access_logging")]
    # the name still says ext: internet; the policy's publicness is not claimed either way
    assert row["reachability"] == "internet"
    assert (
        "bucket policy of aws_s3_bucket_policy.website known only after apply (aws_s3_bucket.website.arn)"
        in row["evidence"]
    )


def test_opensearch_domains_and_their_policy(policy, tmp_path):
    (tmp_path / "search.tf").write_text(
        """
resource "aws_opensearch_domain" "public" {
  domain_name = "prod-int-search"
  advanced_security_options {
    enabled = true
  }
  log_publishing_options {
    log_type                 = "AUDIT_LOGS"
    cloudwatch_log_group_arn = aws_cloudwatch_log_group.search.arn
  }
}

resource "aws_opensearch_domain_policy" "public" {
  domain_name     = aws_opensearch_domain.public.domain_name
  access_policies = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { AWS = "*" }, Action = "es:ESHttpGet", Resource = "*" }]
  })
}

resource "aws_opensearch_domain" "private" {
  domain_name = "prod-int-vault"
  vpc_options {
    subnet_ids = ["subnet-0a1b2c3d"]
  }
}

resource "aws_cloudwatch_log_group" "search" {
  name = "/aws/opensearch/prod-int-search"
}
"""
    )
    rows = {(r["address"], r["check_id"]): r for r in check_paths([tmp_path], policy).rows}
    # named int, but the domain policy in the same code opens it to everyone: internet, full
    public = rows[("aws_opensearch_domain.public", "opensearch.audit_logs")]
    assert (public["status"], public["reachability"], public["level"]) == ("pass", "internet", "full")
    assert rows[("aws_opensearch_domain.public", "opensearch.slow_logs")]["status"] == "fail"
    assert rows[("aws_opensearch_domain.public", "classification.conflict")]["status"] == "fail"
    private = rows[("aws_opensearch_domain.private", "opensearch.audit_logs")]
    assert (private["status"], private["level"]) == ("fail", "standard")
    assert 'log_type                 = "AUDIT_LOGS"' in private["fix"]


def test_local_child_modules_read_like_the_plan_reads_them(policy):
    hcl = check_paths([FIXTURES / "terraform_modules"], policy)
    plan = check_paths([FIXTURES / "terraform_modules_plan" / "plan.json"], policy)
    assert len(hcl.stacks) == 1  # modules/net is read as part of its root, not as a root of its own

    def without_location(rows):
        return [{k: v for k, v in r.items() if k not in ("file", "line")} for r in rows]

    assert without_location(hcl.rows) == without_location(plan.rows)
    rows = {(r["address"], r["check_id"]): r for r in hcl.rows}
    vpc = rows[("module.net.aws_vpc.this", "vpc.flow_logs.all")]  # the module's arguments name it prod-ext-shop
    assert (vpc["name"], vpc["status"], vpc["region"]) == ("prod-ext-shop", "fail", "us-east-2")
    assert vpc["file"].endswith("terraform_modules/modules/net/main.tf")
    assert "module.net.aws_flow_log.this records REJECT only" in vpc["evidence"]


def test_real_world_hcl_constructs_do_not_crash_and_dynamic_blocks_are_read(policy, tmp_path):
    (tmp_path / "main.tf").write_text(
        """
variable "logs" {
  type = bool
}

variable "exports" {
  type = list(string)
}

locals {
  names  = [for n in ["a", ""] : upper(n) if n != ""]
  create = try(var.create, true)
}

resource "aws_lb" "edge" {
  count    = local.create ? 1 : 0
  name     = "prod-ext-edge-${count.index}"
  internal = false
  subnets  = aws_subnet.public[*].id

  dynamic "access_logs" {
    for_each = var.logs ? [1] : []
    content {
      bucket  = "prod-int-logs"
      enabled = true
    }
  }

  dynamic "connection_logs" {
    for_each = ["prod-int-logs"]
    iterator = target
    content {
      bucket  = target.value
      enabled = true
    }
  }
}

resource "aws_flow_log" "heredoc" {
  vpc_id       = aws_vpc.x.id
  traffic_type = "ALL"
  log_format   = <<-EOT
    $${version} $${srcaddr} $${tcp-flags}
  EOT
}

resource "aws_db_instance" "db" {
  identifier                      = "prod-int-db"
  engine                          = "postgres"
  enabled_cloudwatch_logs_exports = var.exports
  tags                            = merge({ Team = "data" }, { for k in local.names : k => "x" })
}

output "greeting" {
  value = "%{if local.create}yes%{else}no%{endif}"
}
"""
    )
    report = check_paths([tmp_path], policy)
    assert report.errors == []
    rows = {(r["address"], r["check_id"]): r for r in report.rows}
    # count = local.create ? 1 : 0 is not literal: one resource, as written
    access = rows[("aws_lb.edge", "elb.access_logs")]
    assert (
        access["status"] == "manual"
        and "access_logs is known only after apply (dynamic access_logs)" in access["evidence"]
    )
    assert rows[("aws_lb.edge", "alb.connection_logs")]["status"] == "pass"  # a literal for_each: read
    exports = rows[("aws_db_instance.db", "rds.log_exports")]
    assert exports["status"] == "manual" and "(var.exports)" in exports["evidence"]


def test_an_instance_open_to_the_world_makes_its_vpc_internet_facing(policy, tmp_path):
    (tmp_path / "main.tf").write_text(
        """
resource "aws_vpc" "ops" {
  cidr_block = "10.7.0.0/16"
  tags       = { Name = "prod-int-ops" }
}

resource "aws_subnet" "ops" {
  vpc_id                  = aws_vpc.ops.id
  cidr_block              = "10.7.1.0/24"
  map_public_ip_on_launch = true
}

resource "aws_security_group" "ssh" {
  vpc_id = aws_vpc.ops.id
}

resource "aws_vpc_security_group_ingress_rule" "ssh" {
  security_group_id = aws_security_group.ssh.id
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 22
  to_port           = 22
}

resource "aws_instance" "bastion" {
  ami                    = "ami-0abcdef1234567890"
  instance_type          = "t3.micro"
  subnet_id              = aws_subnet.ops.id
  vpc_security_group_ids = [aws_security_group.ssh.id]
  tags                   = { Name = "prod-int-bastion" }
}

resource "aws_vpc" "quiet" {
  cidr_block = "10.8.0.0/16"
  tags       = { Name = "prod-int-quiet" }
}

resource "aws_instance" "worker" {
  ami           = "ami-0abcdef1234567890"
  instance_type = "t3.micro"
  subnet_id     = aws_subnet.quiet.id
}

resource "aws_subnet" "quiet" {
  vpc_id     = aws_vpc.quiet.id
  cidr_block = "10.8.1.0/24"
}
"""
    )
    rows = {(r["address"], r["check_id"]): r for r in check_paths([tmp_path], policy).rows}
    bastion = rows[("aws_instance.bastion", "classification.conflict")]["evidence"]
    assert "public IP (assigned at launch) and security group aws_security_group.ssh open to 0.0.0.0/0" in bastion
    ops = rows[("aws_vpc.ops", "vpc.flow_logs.all")]
    assert (ops["reachability"], ops["level"], ops["status"]) == ("internet", "full", "fail")
    assert (
        "prod-int-bastion inside it is measured internet"
        in rows[("aws_vpc.ops", "classification.conflict")]["evidence"]
    )
    quiet = rows[("aws_vpc.quiet", "vpc.flow_logs.reject")]  # its instance has no public IP: named internal stays
    assert (quiet["reachability"], quiet["level"]) == ("internal", "standard")
