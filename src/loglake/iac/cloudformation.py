"""CloudFormation and SAM templates (YAML or JSON) -> inventory resources.

Intrinsic functions in both forms (`!Ref X` and `{"Ref": "X"}`, `!Sub`, `!GetAtt`, `!Join`...) are evaluated where
the template decides them: parameters' defaults, pseudo parameters, the names of buckets, tables and functions that
the template sets. What only exists after deploy becomes a `Ref` that names the resource it points at, which is
enough to link a flow log to its VPC or a stage to its API. SAM's Api, HttpApi and Function (with its implicit API
and function URL) are expanded the way the transform does, with `Globals` applied.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from loglake.iac import resources as build
from loglake.iac.source import (
    IacFileError,
    Ref,
    Stack,
    StackBuilder,
    flag,
    listed,
    located,
    mapped,
    merge_refs,
    shown,
    text,
)
from loglake.inventory import snapshot as t
from loglake.inventory.collectors.vpc import WORLD

NAME_PROPERTY = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Serverless::Function": "FunctionName",
}
ARN_OF = {
    "AWS::S3::Bucket": lambda name, region, account: build.s3_arn(name),
    "AWS::DynamoDB::Table": lambda name, region, account: f"arn:aws:dynamodb:{region}:{account}:table/{name}",
    "AWS::Lambda::Function": lambda name, region, account: f"arn:aws:lambda:{region}:{account}:function:{name}",
}
ARN_OF["AWS::Serverless::Function"] = ARN_OF["AWS::Lambda::Function"]


IMPLICIT = "implicit"  # what SAM creates for functions' events: set through Globals

# -- parsing ----------------------------------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags, turned into their long form."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_Loader.add_multi_constructor("!", _intrinsic)
# a policy's `Version: 2012-10-17` stays the text it is, not a date
_Loader.add_constructor("tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node))


def parse(path: Path, text: str) -> Any:
    if path.suffix.lower() == ".json" or text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise IacFileError(path, error.lineno, f"not valid JSON: {error.msg}") from None
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise IacFileError(path, mark.line + 1 if mark else None, f"not valid YAML: {problem}") from None


def is_template(data: Any) -> bool:
    if not isinstance(data, dict) or not isinstance(data.get("Resources"), dict):
        return False
    if "AWSTemplateFormatVersion" in data or "Transform" in data:
        return True
    return any(
        isinstance(r, dict) and str(r.get("Type", "")).startswith(("AWS::", "Custom::"))
        for r in data["Resources"].values()
    )


def resource_lines(text: str, logical_ids: list[str]) -> dict[str, int]:
    """Where each resource's logical id is written, in the Resources section."""
    start = re.search(r'^\s*"?Resources"?\s*:', text, re.M)
    offset = start.end() if start else 0
    lines = {}
    for logical_id in logical_ids:
        found = re.compile(rf'^[ \t]*"?{re.escape(logical_id)}"?[ \t]*:', re.M).search(text, offset)
        lines[logical_id] = text.count("\n", 0, found.start()) + 1 if found else 1
    return lines


# -- evaluation -------------------------------------------------------------------------------------------------------


class Template:
    def __init__(self, data: dict[str, Any], region: str, account: str) -> None:
        self.region = region
        self.account = account
        self.parameters = {
            k: v.get("Default") for k, v in mapped(data.get("Parameters")).items() if isinstance(v, dict)
        }
        self.resources = {
            k: v for k, v in data["Resources"].items() if isinstance(v, dict) and isinstance(v.get("Type"), str)
        }
        self.globals = mapped(data.get("Globals"))
        self.names: dict[str, str] = {}
        for logical_id, body in self.resources.items():
            prop = NAME_PROPERTY.get(body["Type"])
            name = self.value(mapped(body.get("Properties")).get(prop)) if prop else None
            if isinstance(name, str):
                self.names[logical_id] = name

    def properties(self, logical_id: str) -> dict[str, Any]:
        body = self.resources[logical_id]
        properties = dict(mapped(body.get("Properties")))
        section = {"AWS::Serverless::Function": "Function", "AWS::Serverless::Api": "Api"}.get(body["Type"])
        section = section or {"AWS::Serverless::HttpApi": "HttpApi"}.get(body["Type"])
        if section:
            properties = {**mapped(self.globals.get(section)), **properties}
        return self.value(properties)

    def value(self, raw: Any) -> Any:
        if isinstance(raw, list):
            return [self.value(v) for v in raw]
        if not isinstance(raw, dict):
            return raw
        if len(raw) == 1:
            (key, argument), *_ = raw.items()
            handler = FUNCTIONS.get(key)
            if handler:
                return handler(self, argument)
        return {k: self.value(v) for k, v in raw.items()}

    def ref(self, name: Any) -> Any:
        if not isinstance(name, str):
            return Ref(("Ref",), ())
        pseudo = {"AWS::Region": self.region, "AWS::AccountId": self.account, "AWS::Partition": "aws"}
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters and self.parameters[name] is not None:
            return self.value(self.parameters[name])
        if name in self.names:
            return self.names[name]
        return Ref((f"!Ref {name}",), (name,) if name in self.resources else ())

    def get_att(self, argument: Any) -> Any:
        if isinstance(argument, str):
            argument = argument.split(".", 1)
        if not isinstance(argument, list) or len(argument) != 2:
            return Ref(("!GetAtt",), ())
        logical_id, attribute = argument
        body = self.resources.get(logical_id)
        if body and attribute == "Arn" and logical_id in self.names and body["Type"] in ARN_OF:
            return ARN_OF[body["Type"]](self.names[logical_id], self.region, self.account)
        return Ref((f"!GetAtt {logical_id}.{attribute}",), (logical_id,) if body else ())

    def sub(self, argument: Any) -> Any:
        template, variables = (argument[0], argument[1]) if isinstance(argument, list) else (argument, {})
        if not isinstance(template, str):
            return Ref(("!Sub",), ())
        refs: list[Ref] = []

        def replace(match: re.Match) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in (variables or {}):
                got = self.value(variables[name])
            elif "." in name and not name.startswith("AWS::"):
                got = self.get_att(name.split(".", 1))
            else:
                got = self.ref(name)
            if isinstance(got, Ref):
                refs.append(got)
                return ""
            return str(got)

        done = re.sub(r"\$\{([^}]+)\}", replace, template)
        return merge_refs(refs) if refs else done

    def join(self, argument: Any) -> Any:
        if not isinstance(argument, list) or len(argument) != 2:
            return Ref(("!Join",), ())
        separator, items = argument[0], self.value(argument[1])
        if not isinstance(items, list):
            return Ref(("!Join",), ())
        refs = [i for i in items if isinstance(i, Ref)]
        if refs:
            return merge_refs(refs)
        return str(separator).join(str(i) for i in items)


def _unknown(name: str) -> Callable[[Template, Any], Ref]:
    return lambda template, argument: Ref((f"!{name}",), ())


FUNCTIONS: dict[str, Callable[[Template, Any], Any]] = {
    "Ref": Template.ref,
    "Fn::GetAtt": Template.get_att,
    "Fn::Sub": Template.sub,
    "Fn::Join": Template.join,
    "Fn::If": _unknown("If"),
    "Fn::ImportValue": _unknown("ImportValue"),
    "Fn::Select": _unknown("Select"),
    "Fn::FindInMap": _unknown("FindInMap"),
    "Fn::Split": _unknown("Split"),
    "Fn::Base64": _unknown("Base64"),
    "Fn::GetAZs": _unknown("GetAZs"),
    "Fn::Cidr": _unknown("Cidr"),
}


# -- building ---------------------------------------------------------------------------------------------------------


def tags_of(value: Any) -> dict[str, str]:
    if isinstance(value, dict):  # SAM and API Gateway v2 write tags as a map
        return {str(k): str(v) for k, v in value.items() if not isinstance(v, Ref)}
    if isinstance(value, list):
        return {
            str(i["Key"]): str(i.get("Value", ""))
            for i in value
            if isinstance(i, dict) and "Key" in i and not isinstance(i.get("Value"), Ref)
        }
    return {}


class Builder(StackBuilder):
    def __init__(self, stack: Stack, template: Template, path: str, lines: dict[str, int]) -> None:
        super().__init__(stack)
        self.template = template
        self.path = path
        self.lines = lines
        self.built: dict[str, dict[str, Any]] = {}
        self.props = {logical_id: mapped(template.properties(logical_id)) for logical_id in template.resources}
        self.types = {logical_id: body["Type"] for logical_id, body in template.resources.items()}

    @property
    def region(self) -> str:
        return self.template.region

    @property
    def account(self) -> str:
        return self.template.account

    def of_type(self, *types: str) -> list[str]:
        return [logical_id for logical_id, kind in self.types.items() if kind in types]

    def target(self, value: Any, *types: str) -> str | None:
        if isinstance(value, Ref):
            for logical_id in value.targets:
                if logical_id in self.types and (not types or self.types[logical_id] in types):
                    return logical_id
        return None

    def add(self, logical_id: str, res: dict[str, Any]) -> dict[str, Any]:
        located(res, self.path, self.lines.get(logical_id), logical_id, self.types.get(logical_id, IMPLICIT))
        self.built[logical_id] = res
        self.stack.inventory.resources.append(res)
        return res

    def bucket_of(self, value: Any) -> dict[str, Any] | None:
        logical_id = self.target(value, "AWS::S3::Bucket")
        if logical_id:
            return self.built.get(logical_id)
        name = text(value)
        if not name:
            return None
        name = name.split(":::")[-1].split("/")[0].removesuffix(".s3.amazonaws.com")
        return next((r for r in self.stack.inventory.by_type(t.S3_BUCKET) if r["name"] == name), None)

    def bucket_name(self, value: Any) -> str | None:
        found = self.bucket_of(value)
        if found:
            return found["name"]
        return shown(value)

    def name(self, logical_id: str, *keys: str) -> str:
        props = self.props[logical_id]
        for key in keys:
            found = text(props.get(key))
            if found:
                return found
        return tags_of(props.get("Tags")).get("Name") or logical_id

    def subnet_vpc(self, subnets: Any) -> str | None:
        for subnet in subnets if isinstance(subnets, list) else [subnets]:
            logical_id = self.target(subnet, "AWS::EC2::Subnet")
            vpc = self.target(self.props[logical_id].get("VpcId"), "AWS::EC2::VPC") if logical_id else None
            if vpc:
                return vpc
        return None


def _buckets(b: Builder) -> None:
    for logical_id in b.of_type("AWS::S3::Bucket"):
        props = b.props[logical_id]
        name = b.template.names.get(logical_id)
        if name is None:
            name = logical_id
            b.note(logical_id, "bucket name generated by CloudFormation: naming rules read the logical id")
        res = b.add(logical_id, build.bucket(name, b.region, b.account, tags_of(props.get("Tags"))))
        logging = props.get("LoggingConfiguration")
        b.computed(logical_id, logging, "LoggingConfiguration", ("s3.server_access_logging",))
        if isinstance(logging, dict):
            target = logging.get("DestinationBucketName")
            build.set_bucket_logging(res, b.bucket_name(target) or name, text(logging.get("LogFilePrefix")))
        if isinstance(props.get("PublicAccessBlockConfiguration"), dict):
            build.set_public_access_block(
                res, {k: flag(v, False) for k, v in props["PublicAccessBlockConfiguration"].items()}
            )
        build.set_bucket_acl(res, text(props.get("AccessControl")))
    for logical_id in b.of_type("AWS::S3::BucketPolicy"):
        props = b.props[logical_id]
        found = b.bucket_of(props.get("Bucket"))
        if found is None:
            continue
        document = props.get("PolicyDocument")
        if isinstance(document, Ref) or (
            isinstance(document, dict) and _has_ref(document, ("Principal", "Effect", "Condition"))
        ):
            b.note(
                found["source"]["address"],
                f"bucket policy {logical_id} is known only after deploy: public policy not measured",
            )
        build.set_bucket_policy(found, _plain(document))


def _has_ref(document: Any, keys: tuple[str, ...]) -> bool:
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    for statement in statements if isinstance(statements, list) else [statements]:
        if isinstance(statement, dict) and any(isinstance(statement.get(k), Ref) for k in keys):
            return True
    return False


def _plain(value: Any) -> Any:
    if isinstance(value, Ref):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _vpcs(b: Builder) -> None:
    for logical_id in b.of_type("AWS::EC2::VPC"):
        props = b.props[logical_id]
        b.add(
            logical_id,
            build.vpc(logical_id, logical_id, b.name(logical_id), b.region, b.account, tags_of(props.get("Tags"))),
        )
    for logical_id in b.of_type("AWS::EC2::VPCGatewayAttachment"):
        props = b.props[logical_id]
        vpc = b.built.get(b.target(props.get("VpcId"), "AWS::EC2::VPC") or "")
        if vpc is not None and props.get("InternetGatewayId") is not None:
            vpc["config"]["internet_gateway"] = True
    for logical_id in b.of_type("AWS::EC2::FlowLog"):
        props = b.props[logical_id]
        vpc = b.built.get(b.target(props.get("ResourceId"), "AWS::EC2::VPC") or "")
        if vpc is None:
            continue
        kind = text(props.get("LogDestinationType")) or "cloud-watch-logs"
        destination = props.get("LogDestination")
        bucket = b.bucket_of(destination) if kind == "s3" else None
        where = bucket["arn"] if bucket else shown(destination) or shown(props.get("LogGroupName"))
        vpc["config"]["flow_logs"].append(
            build.flow_log(logical_id, text(props.get("TrafficType")), kind, where, props.get("LogFormat"))
        )


def _instances(b: Builder) -> None:
    opened: dict[str, list[dict[str, Any]]] = {}
    for logical_id in b.of_type("AWS::EC2::SecurityGroup"):
        for rule in listed(b.props[logical_id].get("SecurityGroupIngress")):
            _open(opened, logical_id, rule)
    for logical_id in b.of_type("AWS::EC2::SecurityGroupIngress"):
        props = b.props[logical_id]
        group = b.target(props.get("GroupId"), "AWS::EC2::SecurityGroup")
        if group:
            _open(opened, group, props)
    for logical_id in b.of_type("AWS::EC2::Instance"):
        props = b.props[logical_id]
        res = b.add(
            logical_id, build.instance(logical_id, b.name(logical_id), b.region, b.account, tags_of(props.get("Tags")))
        )
        interfaces = [i for i in listed(props.get("NetworkInterfaces")) if isinstance(i, dict)]
        subnet = props.get("SubnetId") or next((i.get("SubnetId") for i in interfaces), None)
        res["vpc_id"] = b.subnet_vpc(subnet)
        public = any(flag(i.get("AssociatePublicIpAddress"), False) for i in interfaces)
        subnet_id = b.target(subnet, "AWS::EC2::Subnet")
        if not interfaces and subnet_id:
            public = flag(b.props[subnet_id].get("MapPublicIpOnLaunch"), False)
        res["config"]["public_ip"] = "(assigned at launch)" if public else None
        groups = listed(props.get("SecurityGroupIds")) + [g for i in interfaces for g in listed(i.get("GroupSet"))]
        res["config"]["security_groups"] = [g for g in (b.target(x, "AWS::EC2::SecurityGroup") for x in groups) if g]
        res["config"]["open_to_world"] = [r for g in res["config"]["security_groups"] for r in opened.get(g, [])]


def _open(opened: dict[str, list], group: str, rule: Any) -> None:
    if not isinstance(rule, dict):
        return
    for cidr in (rule.get("CidrIp"), rule.get("CidrIpv6")):
        if cidr in WORLD:
            opened.setdefault(group, []).append(
                build.world_rule(group, rule.get("IpProtocol"), rule.get("FromPort"), cidr)
            )


def _load_balancers(b: Builder) -> None:
    for logical_id in b.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer", "AWS::ElasticLoadBalancing::LoadBalancer"):
        props = b.props[logical_id]
        classic = b.types[logical_id] == "AWS::ElasticLoadBalancing::LoadBalancer"
        lb_type = "classic" if classic else (text(props.get("Type")) or "application")
        subnets = props.get("Subnets") or [
            m.get("SubnetId") for m in listed(props.get("SubnetMappings")) if isinstance(m, dict)
        ]
        res = build.load_balancer(
            logical_id,
            b.name(logical_id, "LoadBalancerName" if classic else "Name"),
            b.region,
            b.account,
            tags_of(props.get("Tags")),
            lb_type,
            text(props.get("Scheme")) == "internal",
            b.subnet_vpc(subnets),
        )
        b.add(logical_id, res)
        if classic:
            b.computed(logical_id, props.get("AccessLoggingPolicy"), "AccessLoggingPolicy", ("elb.access_logs",))
            policy = mapped(props.get("AccessLoggingPolicy"))
            if isinstance(policy, dict) and policy:
                res["config"]["access_logs"] = build.log_settings(
                    flag(policy.get("Enabled"), False),
                    b.bucket_name(policy.get("S3BucketName")),
                    text(policy.get("S3BucketPrefix")),
                )
            continue
        b.computed(
            logical_id, props.get("LoadBalancerAttributes"), "LoadBalancerAttributes", ("elb.", "alb.connection_logs")
        )
        attributes = {
            a.get("Key"): a.get("Value") for a in listed(props.get("LoadBalancerAttributes")) if isinstance(a, dict)
        }
        for kind in ("access_logs", "connection_logs"):
            res["config"][kind] = build.log_settings(
                flag(attributes.get(f"{kind}.s3.enabled"), False),
                b.bucket_name(attributes.get(f"{kind}.s3.bucket")),
                text(attributes.get(f"{kind}.s3.prefix")),
            )


def _distributions(b: Builder) -> None:
    for logical_id in b.of_type("AWS::CloudFront::Distribution"):
        props = b.props[logical_id]
        config = mapped(props.get("DistributionConfig"))
        tags = tags_of(props.get("Tags"))
        name = tags.get("Name") or text(config.get("Comment")) or logical_id
        res = b.add(logical_id, build.distribution(logical_id, name, b.account, tags))
        logging = config.get("Logging")
        b.computed(logical_id, logging, "DistributionConfig.Logging", ("cloudfront.logging",))
        if isinstance(logging, dict) and logging.get("Bucket") is not None:
            target = b.bucket_of(logging.get("Bucket"))
            res["config"]["logging"] = {
                "enabled": True,
                "bucket": f"{target['name']}.s3.amazonaws.com" if target else shown(logging.get("Bucket")),
                "prefix": text(logging.get("Prefix")) or "",
                "include_cookies": flag(logging.get("IncludeCookies"), False),
            }


def _rest_api(b: Builder, logical_id: str | None) -> dict[str, Any]:
    if logical_id is None:
        return {"id": "(an API outside this template)", "name": "(unknown API)", "tags": {}}
    props = b.props[logical_id]
    endpoint = props.get("EndpointConfiguration")
    types = endpoint.get("Types") or endpoint.get("Type") if isinstance(endpoint, dict) else endpoint
    return {
        "id": logical_id,
        "name": text(props.get("Name")) or logical_id,
        "endpoint_types": [types] if isinstance(types, str) else [x for x in listed(types) if isinstance(x, str)],
        "execute_api_disabled": flag(props.get("DisableExecuteApiEndpoint"), False),
        "tags": tags_of(props.get("Tags")),
    }


def _method_logging(settings: Any, default: str | None = None) -> dict[str, str]:
    found = {"*/*": default.upper()} if isinstance(default, str) else {}
    for setting in settings if isinstance(settings, list) else []:
        if not isinstance(setting, dict):
            continue
        path = str(setting.get("ResourcePath") or "/*")
        key = "*" if path == "/*" else path.replace("/", "~1")
        found[f"{key}/{setting.get('HttpMethod') or '*'}"] = str(setting.get("LoggingLevel") or "OFF").upper()
    return found


def _rest_stage(b: Builder, logical_id: str, api: dict[str, Any], stage: str, props: dict[str, Any]) -> None:
    res = build.api_stage(logical_id, api, stage, b.region, b.account, tags_of(props.get("Tags")))
    b.computed(logical_id, props.get("AccessLogSetting"), "AccessLogSetting", ("apigw.access_logging",))
    b.computed(logical_id, props.get("MethodSettings"), "MethodSettings", ("apigw.execution_logging",))
    access = mapped(props.get("AccessLogSetting"))
    if isinstance(access, dict):
        build.set_access_log(res, shown(access.get("DestinationArn")), access.get("Format"))
    res["config"]["method_logging"] = _method_logging(props.get("MethodSettings"), props.get("LoggingLevel"))
    b.add(logical_id, res)


def _api_stages(b: Builder) -> None:
    for logical_id in b.of_type("AWS::ApiGateway::Stage"):
        props = b.props[logical_id]
        api = _rest_api(b, b.target(props.get("RestApiId"), "AWS::ApiGateway::RestApi"))
        _rest_stage(b, logical_id, api, text(props.get("StageName")) or logical_id, props)
    for logical_id in b.of_type("AWS::ApiGateway::Deployment"):
        props = b.props[logical_id]
        if text(props.get("StageName")):
            api = _rest_api(b, b.target(props.get("RestApiId"), "AWS::ApiGateway::RestApi"))
            description = props.get("StageDescription") if isinstance(props.get("StageDescription"), dict) else {}
            _rest_stage(b, logical_id, api, props["StageName"], description)
    for logical_id in b.of_type("AWS::Serverless::Api"):
        props = b.props[logical_id]
        api = {**_rest_api(b, logical_id), "tags": tags_of(props.get("Tags"))}
        _rest_stage(b, logical_id, api, text(props.get("StageName")) or "Prod", props)
    for logical_id in b.of_type("AWS::ApiGatewayV2::Stage"):
        props = b.props[logical_id]
        api_id = b.target(props.get("ApiId"), "AWS::ApiGatewayV2::Api")
        _http_stage(b, logical_id, _http_api(b, api_id), text(props.get("StageName")) or "$default", props)
    for logical_id in b.of_type("AWS::Serverless::HttpApi"):
        props = b.props[logical_id]
        _http_stage(b, logical_id, _http_api(b, logical_id), text(props.get("StageName")) or "$default", props)
    _implicit_apis(b)


def _http_api(b: Builder, logical_id: str | None) -> dict[str, Any]:
    if logical_id is None:
        return {"id": "(an API outside this template)", "name": "(unknown API)", "tags": {}}
    props = b.props[logical_id]
    return {
        "id": logical_id,
        "name": text(props.get("Name")) or logical_id,
        "execute_api_disabled": flag(props.get("DisableExecuteApiEndpoint"), False),
        "tags": tags_of(props.get("Tags")),
    }


def _http_stage(b: Builder, logical_id: str, api: dict[str, Any], stage: str, props: dict[str, Any]) -> None:
    res = build.api_stage(logical_id, api, stage, b.region, b.account, tags_of(props.get("Tags")), v2=True)
    b.computed(logical_id, props.get("AccessLogSettings"), "AccessLogSettings", ("apigw.access_logging",))
    access = mapped(props.get("AccessLogSettings"))
    if isinstance(access, dict):
        build.set_access_log(res, shown(access.get("DestinationArn")), access.get("Format"))
    route = mapped(props.get("DefaultRouteSettings"))
    res["config"]["default_route_logging"] = str(
        (route if isinstance(route, dict) else {}).get("LoggingLevel") or "OFF"
    ).upper()
    b.add(logical_id, res)


def _implicit_apis(b: Builder) -> None:
    """SAM creates ServerlessRestApi (stage Prod) / ServerlessHttpApi ($default) for functions' events that name no
    API; they take Globals.Api / Globals.HttpApi."""
    for kind, implicit, v2 in (("Api", "ServerlessRestApi", False), ("HttpApi", "ServerlessHttpApi", True)):
        users = [
            logical_id
            for logical_id in b.of_type("AWS::Serverless::Function")
            for event in mapped(b.props[logical_id].get("Events")).values()
            if isinstance(event, dict)
            and event.get("Type") == kind
            and not mapped(event.get("Properties")).get("ApiId" if v2 else "RestApiId")
        ]
        if not users or implicit in b.types:
            continue
        props = mapped(b.template.value(mapped(b.template.globals.get(kind))))
        api = {"id": implicit, "name": implicit, "endpoint_types": ["EDGE"], "tags": tags_of(props.get("Tags"))}
        b.lines.setdefault(implicit, b.lines.get(users[0], 1))
        if v2:
            _http_stage(b, implicit, api, "$default", props)
        else:
            _rest_stage(b, implicit, api, "Prod", props)
        b.note(implicit, f"created by SAM for the events of {', '.join(users)}")


def _databases(b: Builder) -> None:
    for logical_id in b.of_type("AWS::RDS::DBCluster", "AWS::RDS::DBInstance"):
        props = b.props[logical_id]
        cluster = b.types[logical_id] == "AWS::RDS::DBCluster"
        cluster_ref = props.get("DBClusterIdentifier")
        res = build.database(
            logical_id,
            b.name(logical_id, "DBClusterIdentifier" if cluster else "DBInstanceIdentifier"),
            b.region,
            b.account,
            tags_of(props.get("Tags")),
            cluster,
            text(props.get("Engine")),
            flag(props.get("PubliclyAccessible"), False),
            [e for e in listed(props.get("EnableCloudwatchLogsExports")) if isinstance(e, str)],
            None if cluster else (text(cluster_ref) or b.target(cluster_ref, "AWS::RDS::DBCluster")),
        )
        b.computed(logical_id, props.get("EnableCloudwatchLogsExports"), "EnableCloudwatchLogsExports", ("rds.",))
        group = b.target(props.get("DBSubnetGroupName"), "AWS::RDS::DBSubnetGroup")
        if group:
            res["vpc_id"] = b.subnet_vpc(b.props[group].get("SubnetIds"))
        b.add(logical_id, res)


def _trails(b: Builder) -> None:
    for logical_id in b.of_type("AWS::CloudTrail::Trail"):
        props = b.props[logical_id]
        res = build.trail(
            logical_id,
            b.name(logical_id, "TrailName"),
            b.region,
            b.account,
            tags_of(props.get("Tags")),
            multi_region=flag(props.get("IsMultiRegionTrail"), False),
            logging=flag(props.get("IsLogging"), False),
            validation=flag(props.get("EnableLogFileValidation"), False),
            kms_key=shown(props.get("KMSKeyId")),
            bucket_name=b.bucket_name(props.get("S3BucketName")),
            selectors=[_selector(b, logical_id, s) for s in listed(props.get("EventSelectors")) if isinstance(s, dict)],
            advanced=[
                _selector(b, logical_id, s) for s in listed(props.get("AdvancedEventSelectors")) if isinstance(s, dict)
            ],
        )
        b.add(logical_id, res)


SELECTOR_LISTS = {"FieldSelectors", "DataResources", "Values", "ExcludeManagementEventSources"} | {
    f"{negation}{operator}" for negation in ("", "Not") for operator in ("Equals", "StartsWith", "EndsWith")
}


def _selector(b: Builder, trail: str, selector: Any, key: str | None = None) -> Any:
    """The selector as the API returns it: a value known only after deploy is kept as text and noted; a list the
    template computes (`!If`) is empty, so it covers nothing rather than everything."""
    if isinstance(selector, Ref):
        shown_as = b.unresolved_selector(trail, selector)
        return [] if key in SELECTOR_LISTS else shown_as
    if isinstance(selector, dict):
        return {k: _selector(b, trail, v, k) for k, v in selector.items()}
    if isinstance(selector, list):
        return [_selector(b, trail, v) for v in selector]
    return selector


def _tables_and_functions(b: Builder) -> None:
    for logical_id in b.of_type("AWS::DynamoDB::Table"):
        props = b.props[logical_id]
        b.add(logical_id, build.table(b.name(logical_id, "TableName"), b.region, b.account, tags_of(props.get("Tags"))))
    for logical_id in b.of_type("AWS::Lambda::Function", "AWS::Serverless::Function"):
        props = b.props[logical_id]
        res = b.add(
            logical_id,
            build.function(b.name(logical_id, "FunctionName"), b.region, b.account, tags_of(props.get("Tags"))),
        )
        url = props.get("FunctionUrlConfig")
        if isinstance(url, dict):
            build.set_function_url(res, text(url.get("AuthType")))
    for logical_id in b.of_type("AWS::Lambda::Url"):
        props = b.props[logical_id]
        function = b.built.get(b.target(props.get("TargetFunctionArn"), "AWS::Lambda::Function") or "")
        if function is not None:
            build.set_function_url(function, text(props.get("AuthType")))


def _domains(b: Builder) -> None:
    for logical_id in b.of_type("AWS::OpenSearchService::Domain", "AWS::Elasticsearch::Domain"):
        props = b.props[logical_id]
        vpc = props.get("VPCOptions") if isinstance(props.get("VPCOptions"), dict) else {}
        security = (
            props.get("AdvancedSecurityOptions") if isinstance(props.get("AdvancedSecurityOptions"), dict) else {}
        )
        res = build.domain(
            logical_id,
            b.name(logical_id, "DomainName"),
            b.region,
            b.account,
            tags_of(props.get("Tags")),
            bool(vpc.get("SubnetIds")),
            props.get("AccessPolicies"),
            flag(security.get("Enabled"), False),
        )
        b.add(logical_id, res)
        b.computed(logical_id, props.get("LogPublishingOptions"), "LogPublishingOptions", ("opensearch.",))
        options = props.get("LogPublishingOptions") if isinstance(props.get("LogPublishingOptions"), dict) else {}
        for kind, option in options.items():
            if isinstance(option, dict):
                build.set_log_publishing(
                    res, kind, flag(option.get("Enabled"), False), shown(option.get("CloudWatchLogsLogGroupArn"))
                )


STEPS = (
    _buckets,
    _vpcs,
    _instances,
    _load_balancers,
    _distributions,
    _api_stages,
    _databases,
    _trails,
    _tables_and_functions,
    _domains,
)


def build_stack(stack: Stack, data: dict[str, Any], text_: str) -> Stack:
    template = Template(data, stack.inventory.regions[0], stack.inventory.account)
    lines = resource_lines(text_, list(template.resources))
    builder = Builder(stack, template, stack.path, lines)
    for step in STEPS:
        step(builder)
    return stack
