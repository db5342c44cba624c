"""Terraform `aws_*` resources -> inventory resources, the same whether they came from a plan or from HCL.

Both readers hand over `TfResource`s whose `values` use the provider's attribute names (blocks as lists of
mappings) and a `Ref` wherever the value is only known after apply. Links between resources (a bucket's logging,
policy and public access block, a flow log's VPC, a stage's method settings...) are resolved here by address, so a
plan and the HCL it came from give the same inventory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from loglake.iac import resources as build
from loglake.iac.source import Ref, Stack, StackBuilder, flag, located, shown, text
from loglake.inventory import snapshot as t
from loglake.inventory.collectors.opensearch import policy_is_open
from loglake.inventory.collectors.vpc import WORLD
from loglake.inventory.snapshot import Inventory


@dataclass
class TfResource:
    address: str  # module.net.aws_vpc.main, aws_s3_bucket.data["a"]
    type: str
    values: dict[str, Any]
    file: str
    line: int


def tf_id(address: str) -> str:
    """How the code names a resource's id: the fix snippets then point at the resource, not at a literal."""
    return f"${{{address}.id}}"


def first_block(values: dict[str, Any], key: str) -> dict[str, Any]:
    found = values.get(key)
    if isinstance(found, list):
        found = found[0] if found else None
    return found if isinstance(found, dict) else {}


def blocks(values: dict[str, Any], key: str) -> list[dict[str, Any]]:
    found = values.get(key)
    if isinstance(found, dict):
        return [found]
    return [b for b in found if isinstance(b, dict)] if isinstance(found, list) else []


def strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def tags_of(values: dict[str, Any]) -> dict[str, str]:
    for key in ("tags_all", "tags"):
        found = values.get(key)
        if isinstance(found, dict):
            return {str(k): str(v) for k, v in found.items() if not isinstance(v, Ref)}
    return {}


class Builder(StackBuilder):
    """Builds one stack's inventory from its Terraform resources."""

    when = "apply"

    def __init__(self, stack: Stack, resources: list[TfResource]) -> None:
        super().__init__(stack)
        self.region = self.inventory.regions[0]
        self.account = self.inventory.account
        self.code = {r.address: r for r in resources}
        self.built: dict[str, dict[str, Any]] = {}  # address -> inventory resource
        self.buckets_by_name: dict[str, dict[str, Any]] = {}

    # -- resolution ------------------------------------------------------------------------------------------------

    def target(self, value: Any, *types: str) -> str | None:
        """The address a link names (`aws_vpc.main.id` -> `aws_vpc.main`), if it is one of `types`."""
        if isinstance(value, Ref):
            for address in value.targets:
                if address in self.code and (not types or self.code[address].type in types):
                    return address
        return None

    def bucket_of(self, value: Any) -> dict[str, Any] | None:
        """The bucket a value names: a literal name, an ARN, or a reference to an aws_s3_bucket in the code."""
        address = self.target(value, "aws_s3_bucket")
        if address:
            return self.built.get(address)
        name = text(value)
        if name:
            return self.buckets_by_name.get(name.split(":::")[-1].split("/")[0].removesuffix(".s3.amazonaws.com"))
        return None

    def bucket_name(self, value: Any) -> str | None:
        found = self.bucket_of(value)
        if found:
            return found["name"]
        name = text(value)
        return name.split(":::")[-1].split("/")[0] if name else None

    def add(self, code: TfResource, res: dict[str, Any]) -> dict[str, Any]:
        located(res, code.file, code.line, code.address, code.type)
        self.built[code.address] = res
        self.inventory.resources.append(res)
        return res

    def name(self, code: TfResource, *keys: str) -> str:
        for key in keys:
            found = text(code.values.get(key))
            if found:
                return found
        return tags_of(code.values).get("Name") or code.address

    def build(self) -> Inventory:
        """The resources the checks read first, then what other resources add to them (links)."""
        for kind, handler in PRIMARIES.items():
            for code in [c for c in self.code.values() if c.type in kind]:
                handler(self, code)
        for kind, handler in LINKS.items():
            for code in [c for c in self.code.values() if c.type in kind]:
                handler(self, code)
        _open_to_world(self)
        return self.inventory


# -- primaries: the resources the checks read ----------------------------------------------------------------------


def _bucket(b: Builder, code: TfResource) -> None:
    name = text(code.values.get("bucket"))
    if name is None:
        name = tf_id(code.address)
        b.note(code.address, "bucket name known only after apply: naming rules not applied")
    res = b.add(code, build.bucket(name, b.region, b.account, tags_of(code.values)))
    b.buckets_by_name[name] = res
    legacy = first_block(code.values, "logging")  # provider v3 inline arguments, still accepted
    if legacy:
        build.set_bucket_logging(res, shown(legacy.get("target_bucket")), text(legacy.get("target_prefix")))
    build.set_bucket_acl(res, text(code.values.get("acl")))
    if code.values.get("policy") is not None:
        _policy(b, code.address, res, code.values.get("policy"))


def _policy(b: Builder, address: str, res: dict[str, Any], policy: Any) -> None:
    if isinstance(policy, Ref):
        b.note(
            res["source"]["address"],
            f"bucket policy of {address} known only after apply ({', '.join(policy.refs)}): public policy not measured",
        )
        return
    build.set_bucket_policy(res, policy)


def _vpc(b: Builder, code: TfResource) -> None:
    b.add(code, build.vpc(tf_id(code.address), code.address, b.name(code), b.region, b.account, tags_of(code.values)))


def _subnet_vpc(b: Builder, subnets: Any) -> str | None:
    for subnet in subnets if isinstance(subnets, list) else [subnets]:
        address = b.target(subnet, "aws_subnet")
        vpc = b.target(b.code[address].values.get("vpc_id"), "aws_vpc") if address else None
        if vpc:
            return tf_id(vpc)
    return None


def _load_balancer(b: Builder, code: TfResource) -> None:
    values = code.values
    classic = code.type == "aws_elb"
    lb_type = "classic" if classic else (text(values.get("load_balancer_type")) or "application")
    subnets = values.get("subnets")
    mappings = blocks(values, "subnet_mapping")
    if subnets is None:
        subnets = [m.get("subnet_id") for m in mappings]
    res = build.load_balancer(
        code.address,
        b.name(code, "name"),
        b.region,
        b.account,
        tags_of(values),
        lb_type,
        flag(values.get("internal"), False),
        _subnet_vpc(b, subnets),
    )
    b.add(code, res)
    access = first_block(values, "access_logs")
    b.computed(code.address, values.get("access_logs"), "access_logs", ("elb.access_logs",))
    b.computed(code.address, values.get("connection_logs"), "connection_logs", ("alb.connection_logs",))
    b.computed(code.address, access.get("enabled"), "access_logs.enabled", ("elb.access_logs",))
    if access:
        # an aws_lb access_logs block is off unless enabled; an aws_elb one is on unless disabled
        enabled = flag(access.get("enabled"), classic)
        prefix = access.get("bucket_prefix") if classic else access.get("prefix")
        res["config"]["access_logs"] = build.log_settings(enabled, b.bucket_name(access.get("bucket")), text(prefix))
    connection = first_block(values, "connection_logs")
    if connection:
        res["config"]["connection_logs"] = build.log_settings(
            flag(connection.get("enabled"), False),
            b.bucket_name(connection.get("bucket")),
            text(connection.get("prefix")),
        )


def _distribution(b: Builder, code: TfResource) -> None:
    values = code.values
    tags = tags_of(values)
    res = b.add(
        code,
        build.distribution(
            code.address, tags.get("Name") or text(values.get("comment")) or code.address, b.account, tags
        ),
    )
    b.computed(code.address, values.get("logging_config"), "logging_config", ("cloudfront.logging",))
    logging = first_block(values, "logging_config")
    if logging:
        target = b.bucket_of(logging.get("bucket"))
        bucket_domain = f"{target['name']}.s3.amazonaws.com" if target else shown(logging.get("bucket"))
        res["config"]["logging"] = {
            "enabled": bool(bucket_domain),
            "bucket": bucket_domain,
            "prefix": text(logging.get("prefix")) or "",
            "include_cookies": flag(logging.get("include_cookies"), False),
        }


def _api(b: Builder, address: str | None, v2: bool) -> dict[str, Any]:
    code = b.code.get(address) if address else None
    if code is None:
        return {"id": "(an API outside this code)", "name": "(unknown API)", "tags": {}}
    values = code.values
    endpoint = first_block(values, "endpoint_configuration")
    return {
        "id": tf_id(address),
        "name": text(values.get("name")) or address,
        "endpoint_types": strings(endpoint.get("types")) or (["REGIONAL"] if v2 else ["EDGE"]),
        "execute_api_disabled": flag(values.get("disable_execute_api_endpoint"), False),
        "tags": tags_of(values),
    }


def _stage(b: Builder, code: TfResource) -> None:
    values = code.values
    v2 = code.type == "aws_apigatewayv2_stage"
    api_ref = values.get("api_id" if v2 else "rest_api_id")
    api = _api(b, b.target(api_ref, "aws_apigatewayv2_api" if v2 else "aws_api_gateway_rest_api"), v2)
    stage = text(values.get("name" if v2 else "stage_name")) or code.address
    res = b.add(code, build.api_stage(code.address, api, stage, b.region, b.account, tags_of(values), v2))
    b.computed(code.address, values.get("access_log_settings"), "access_log_settings", ("apigw.access_logging",))
    access = first_block(values, "access_log_settings")
    build.set_access_log(res, shown(access.get("destination_arn")), access.get("format"))
    if v2:
        route = first_block(values, "default_route_settings")
        res["config"]["default_route_logging"] = (text(route.get("logging_level")) or "OFF").upper()


def _database(b: Builder, code: TfResource) -> None:
    values = code.values
    cluster = code.type == "aws_rds_cluster"
    cluster_ref = values.get("cluster_identifier")
    cluster_id = None if cluster else (text(cluster_ref) or b.target(cluster_ref, "aws_rds_cluster"))
    res = build.database(
        code.address,
        b.name(code, "cluster_identifier" if cluster else "identifier"),
        b.region,
        b.account,
        tags_of(values),
        cluster,
        text(values.get("engine")),
        flag(values.get("publicly_accessible"), False),
        strings(values.get("enabled_cloudwatch_logs_exports")),
        cluster_id,
    )
    b.computed(
        code.address, values.get("enabled_cloudwatch_logs_exports"), "enabled_cloudwatch_logs_exports", ("rds.",)
    )
    group = b.target(values.get("db_subnet_group_name"), "aws_db_subnet_group")
    if group:
        res["vpc_id"] = _subnet_vpc(b, b.code[group].values.get("subnet_ids"))
    b.add(code, res)


def _trail(b: Builder, code: TfResource) -> None:
    values = code.values
    selectors = [_basic_selector(b, code, s) for s in blocks(values, "event_selector")]
    advanced = [_advanced_selector(b, code, s) for s in blocks(values, "advanced_event_selector")]
    res = build.trail(
        code.address,
        b.name(code, "name"),
        b.region,
        b.account,
        tags_of(values),
        multi_region=flag(values.get("is_multi_region_trail"), False),
        logging=flag(values.get("enable_logging"), True),
        validation=flag(values.get("enable_log_file_validation"), False),
        kms_key=shown(values.get("kms_key_id")),
        bucket_name=b.bucket_name(values.get("s3_bucket_name")),
        selectors=selectors,
        advanced=advanced,
    )
    b.add(code, res)


def _selector_values(b: Builder, code: TfResource, values: Any) -> list[str]:
    found = []
    for value in values if isinstance(values, list) else [values]:
        if isinstance(value, Ref):
            found.append(b.unresolved_selector(code.address, value))
        elif isinstance(value, str):
            found.append(value)
    return found


def _basic_selector(b: Builder, code: TfResource, selector: dict[str, Any]) -> dict[str, Any]:
    return {
        "ReadWriteType": text(selector.get("read_write_type")) or "All",
        "IncludeManagementEvents": flag(selector.get("include_management_events"), True),
        "DataResources": [
            {"Type": text(d.get("type")), "Values": _selector_values(b, code, d.get("values"))}
            for d in blocks(selector, "data_resource")
        ],
    }


OPERATORS = {
    "equals": "Equals",
    "starts_with": "StartsWith",
    "ends_with": "EndsWith",
    "not_equals": "NotEquals",
    "not_starts_with": "NotStartsWith",
    "not_ends_with": "NotEndsWith",
}


def _advanced_selector(b: Builder, code: TfResource, selector: dict[str, Any]) -> dict[str, Any]:
    fields = []
    for field in blocks(selector, "field_selector"):
        entry: dict[str, Any] = {"Field": text(field.get("field"))}
        for key, operator in OPERATORS.items():
            if field.get(key) not in (None, []):
                entry[operator] = _selector_values(b, code, field.get(key))
        fields.append(entry)
    return {"Name": text(selector.get("name")) or "", "FieldSelectors": fields}


def _table(b: Builder, code: TfResource) -> None:
    b.add(code, build.table(b.name(code, "name"), b.region, b.account, tags_of(code.values)))


def _function(b: Builder, code: TfResource) -> None:
    b.add(code, build.function(b.name(code, "function_name"), b.region, b.account, tags_of(code.values)))


def _domain(b: Builder, code: TfResource) -> None:
    values = code.values
    vpc = first_block(values, "vpc_options")
    security = first_block(values, "advanced_security_options")
    res = build.domain(
        code.address,
        b.name(code, "domain_name"),
        b.region,
        b.account,
        tags_of(values),
        bool(vpc.get("subnet_ids")),
        values.get("access_policies"),
        flag(security.get("enabled"), False),
    )
    b.add(code, res)
    if isinstance(values.get("access_policies"), Ref):
        b.note(code.address, "access policy known only after apply: an open policy is not measured")
    b.computed(code.address, values.get("log_publishing_options"), "log_publishing_options", ("opensearch.",))
    for option in blocks(values, "log_publishing_options"):
        build.set_log_publishing(
            res,
            text(option.get("log_type")),
            flag(option.get("enabled"), True),
            shown(option.get("cloudwatch_log_group_arn")),
        )


def _domain_policy(b: Builder, code: TfResource) -> None:
    address = b.target(code.values.get("domain_name"), "aws_opensearch_domain", "aws_elasticsearch_domain")
    found = b.built.get(address or "")
    policy = code.values.get("access_policies")
    if found is not None and isinstance(policy, str):
        found["config"]["access_policy_open"] = policy_is_open(policy)


def _instance(b: Builder, code: TfResource) -> None:
    values = code.values
    res = b.add(code, build.instance(code.address, b.name(code), b.region, b.account, tags_of(values)))
    subnet = b.target(values.get("subnet_id"), "aws_subnet")
    res["vpc_id"] = _subnet_vpc(b, [values.get("subnet_id")]) if subnet else None
    public = flag(values.get("associate_public_ip_address"), False)
    if subnet and not public:
        public = flag(b.code[subnet].values.get("map_public_ip_on_launch"), False)
    res["config"]["public_ip"] = "(assigned at launch)" if public else None
    groups = values.get("vpc_security_group_ids")
    groups = [g for g in (groups if isinstance(groups, list) else [groups]) if isinstance(g, Ref)]
    named = [a for g in groups for a in g.targets if a in b.code and b.code[a].type == "aws_security_group"]
    res["config"]["security_groups"] = list(dict.fromkeys(named))


# -- links: settings other resources add to the primaries -------------------------------------------------------------


def _bucket_logging(b: Builder, code: TfResource) -> None:
    found = b.bucket_of(code.values.get("bucket"))
    if found:
        target = b.bucket_of(code.values.get("target_bucket"))
        name = target["name"] if target else shown(code.values.get("target_bucket"))
        build.set_bucket_logging(found, name, text(code.values.get("target_prefix")))


def _bucket_block(b: Builder, code: TfResource) -> None:
    found = b.bucket_of(code.values.get("bucket"))
    if found:
        values = code.values
        build.set_public_access_block(
            found,
            {
                "BlockPublicAcls": flag(values.get("block_public_acls"), False),
                "IgnorePublicAcls": flag(values.get("ignore_public_acls"), False),
                "BlockPublicPolicy": flag(values.get("block_public_policy"), False),
                "RestrictPublicBuckets": flag(values.get("restrict_public_buckets"), False),
            },
        )


def _bucket_policy(b: Builder, code: TfResource) -> None:
    found = b.bucket_of(code.values.get("bucket"))
    if found:
        _policy(b, code.address, found, code.values.get("policy"))


def _bucket_acl(b: Builder, code: TfResource) -> None:
    found = b.bucket_of(code.values.get("bucket"))
    if found:
        build.set_bucket_acl(found, text(code.values.get("acl")))


def _flow_log(b: Builder, code: TfResource) -> None:
    values = code.values
    vpc = b.built.get(b.target(values.get("vpc_id"), "aws_vpc") or "")
    if vpc is None:
        return
    kind = text(values.get("log_destination_type")) or "cloud-watch-logs"
    destination = values.get("log_destination")
    bucket = b.bucket_of(destination) if kind == "s3" else None
    where = bucket["arn"] if bucket else shown(destination) or shown(values.get("log_group_name"))
    vpc["config"]["flow_logs"].append(
        build.flow_log(code.address, text(values.get("traffic_type")), kind, where, values.get("log_format"))
    )


def _gateway(b: Builder, code: TfResource) -> None:
    vpc = b.built.get(b.target(code.values.get("vpc_id"), "aws_vpc") or "")
    if vpc is not None:
        vpc["config"]["internet_gateway"] = True


def _method_settings(b: Builder, code: TfResource) -> None:
    values = code.values
    api = b.target(values.get("rest_api_id"), "aws_api_gateway_rest_api")
    stage_name = values.get("stage_name")
    stage_address = b.target(stage_name, "aws_api_gateway_stage")
    for res in b.inventory.by_type(t.APIGW_STAGE):
        same_api = api is not None and res["config"]["api_id"] == tf_id(api)
        same_stage = res["source"]["address"] == stage_address or res["config"]["stage"] == text(stage_name)
        if same_api and same_stage:
            level = (text(first_block(values, "settings").get("logging_level")) or "OFF").upper()
            res["config"]["method_logging"][text(values.get("method_path")) or "*/*"] = level


def _function_url(b: Builder, code: TfResource) -> None:
    address = b.target(code.values.get("function_name"), "aws_lambda_function")
    found = b.built.get(address or "")
    if found is None:
        name = text(code.values.get("function_name"))
        found = next((r for r in b.inventory.by_type(t.LAMBDA_FUNCTION) if r["name"] == name), None)
    if found is not None:
        build.set_function_url(found, text(code.values.get("authorization_type")))


def _open_to_world(b: Builder) -> None:
    """Instances inherit what their groups open to the world (inline ingress, or rule resources)."""
    opened: dict[str, list[dict[str, Any]]] = {}
    for group in [c for c in b.code.values() if c.type == "aws_security_group"]:
        for rule in blocks(group.values, "ingress"):
            _open(opened, group.address, rule.get("protocol"), rule.get("from_port"), rule.get("cidr_blocks"))
    for rule in [
        c for c in b.code.values() if c.type in ("aws_security_group_rule", "aws_vpc_security_group_ingress_rule")
    ]:
        values = rule.values
        if rule.type == "aws_security_group_rule" and text(values.get("type")) != "ingress":
            continue
        group = b.target(values.get("security_group_id"), "aws_security_group")
        cidrs = values.get("cidr_blocks") if rule.type == "aws_security_group_rule" else [values.get("cidr_ipv4")]
        protocol = values.get("protocol") or values.get("ip_protocol")
        if group:
            _open(opened, group, protocol, values.get("from_port"), cidrs)
    for res in b.inventory.by_type(t.INSTANCE):
        res["config"]["open_to_world"] = [r for g in res["config"]["security_groups"] for r in opened.get(g, [])]


def _open(opened: dict[str, list], group: str, protocol: Any, port: Any, cidrs: Any) -> None:
    for cidr in strings(cidrs):
        if cidr in WORLD:
            opened.setdefault(group, []).append(build.world_rule(group, protocol, port, cidr))


PRIMARIES: dict[tuple[str, ...], Callable[[Builder, TfResource], None]] = {
    ("aws_s3_bucket",): _bucket,
    ("aws_vpc",): _vpc,
    ("aws_lb", "aws_alb", "aws_elb"): _load_balancer,
    ("aws_cloudfront_distribution",): _distribution,
    ("aws_api_gateway_stage", "aws_apigatewayv2_stage"): _stage,
    ("aws_rds_cluster", "aws_db_instance"): _database,
    ("aws_cloudtrail",): _trail,
    ("aws_dynamodb_table",): _table,
    ("aws_lambda_function",): _function,
    ("aws_instance",): _instance,
    ("aws_opensearch_domain", "aws_elasticsearch_domain"): _domain,
}
LINKS: dict[tuple[str, ...], Callable[[Builder, TfResource], None]] = {
    ("aws_s3_bucket_logging",): _bucket_logging,
    ("aws_s3_bucket_public_access_block",): _bucket_block,
    ("aws_s3_bucket_policy",): _bucket_policy,
    ("aws_s3_bucket_acl",): _bucket_acl,
    ("aws_flow_log",): _flow_log,
    ("aws_internet_gateway", "aws_internet_gateway_attachment"): _gateway,
    ("aws_api_gateway_method_settings",): _method_settings,
    ("aws_lambda_function_url",): _function_url,
    ("aws_opensearch_domain_policy", "aws_elasticsearch_domain_policy"): _domain_policy,
}


def build_stack(stack: Stack, resources: list[TfResource]) -> Stack:
    Builder(stack, sorted(resources, key=lambda r: r.address)).build()  # a plan's order, whatever the source
    return stack
