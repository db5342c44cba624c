"""AnyCompany's account built in a moto_server for the posture demo: the company of the log demo (estate.py), its
names and buckets, with what the posture steps should find in it.

What is wrong on purpose (and what finds it):
  - labels that claim internal on things the internet reaches: the ALB `prod-int-admin` (internet-facing), the REST
    API `prod-int-payments-api` (a REGIONAL endpoint), the Lambda `invoice-webhook` (tag Exposure=internal, a
    function URL without auth), the bucket `anycompany-reports` (public-read ACL), the VPC `prod-int-core` (a
    bastion with a public IP and SSH open to the world)                            -> classify: conflicts
  - `prod-int-payments-data` holds card numbers (gzip CSV, JSON), `anycompany-ci-artifacts` the CI user's AWS
    key pair in a build's deploy.env                                             -> discover: restricted data
  - logging missing: the VPC's flow logs use the v2 format, the admin ALB logs nothing, RDS exports no logs,
    no data events for tables and functions, execution logging off, the trail without KMS, a log group kept
    14 days                                                                      -> audit: failing checks
What the log demo has logs of is logged here too (ALB prod-ext-web, CloudFront, the payments bucket's access
logs and data events, API access logs, the eu-west-1 VPC's v5 flow logs).
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import random
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from stdnum import luhn

from loglake.demo.estate import ACCOUNT, CLOUDTRAIL_BUCKET, FLOW_FORMAT_V2, HOME_REGION, SENSITIVE_BUCKET, TRAIL_NAME
from loglake.demo.moto import MotoAccount
from loglake.demo.rand import derive
from loglake.demo.webstack import ALB_NAME

EU_REGION = "eu-west-1"
LOG_BUCKET = f"anycompany-logs-{ACCOUNT}"  # ALB, CloudFront, VPC flow and S3 access logs
ASSETS_BUCKET = "anycompany-app-assets"
CI_BUCKET = "anycompany-ci-artifacts"
REPORTS_BUCKET = "anycompany-reports"
EU_UPLOADS_BUCKET = "anycompany-eu-customer-uploads"
ADMIN_ALB = "prod-int-admin"
PUBLIC_API = "prod-ext-api"
PAYMENTS_API = "prod-int-payments-api"
WEBHOOK_FUNCTION = "invoice-webhook"
HOME_VPC = "prod-int-core"
EU_VPC = "prod-int-eu-core"
# the v5 fields the full level asks of flow logs, in the eu-west-1 VPC's custom format
FLOW_FORMAT_V5_FIELDS = (
    "${version} ${account-id} ${vpc-id} ${subnet-id} ${instance-id} ${interface-id} ${srcaddr} ${dstaddr} "
    "${srcport} ${dstport} ${pkt-srcaddr} ${pkt-dstaddr} ${protocol} ${bytes} ${packets} ${start} ${end} "
    "${action} ${tcp-flags} ${flow-direction} ${traffic-path} ${log-status}"
)
CARD_PREFIXES = ("411111", "555555", "378282", "601111")  # scheme test ranges: Visa, Mastercard, Amex, Discover


@dataclass
class PostureEstate:
    """What was built, by name, and what the posture steps are expected to find."""

    account: str
    regions: tuple[str, ...]
    mislabeled: list[str] = field(default_factory=list)  # names whose label claims less exposure than measured
    card_bucket: str = SENSITIVE_BUCKET
    key_bucket: str = CI_BUCKET
    leaked_key_id: str = ""
    cards_written: int = 0


def build_posture_estate(acct: MotoAccount, leaked_key_id: str, seed: int = 7) -> PostureEstate:
    """Create AnyCompany's resources in the moto account; `leaked_key_id` is the CI user's key the log demo's
    attacker uses (it is found in the CI artifacts bucket)."""
    rng = derive(seed, "posture-estate")
    built = PostureEstate(acct.account, (HOME_REGION, EU_REGION), leaked_key_id=leaked_key_id)
    steps = (
        lambda: _load_balancers(acct, _network(acct, built), built),  # the slowest: moto imports EC2 on first use
        lambda: (_buckets(acct, rng, built), _trail(acct)),  # the trail's bucket must exist
        lambda: _apis(acct, built),
        lambda: _functions(acct, built),
        lambda: _databases(acct),
        lambda: _cloudfront(acct),
        lambda: _log_groups(acct),
    )
    # in threads: most of the time is the server setting up each service on its first call
    with ThreadPoolExecutor(max_workers=len(steps)) as pool:
        for step in [pool.submit(s) for s in steps]:
            step.result()
    built.mislabeled.sort()
    return built


# -- S3 -------------------------------------------------------------------------------------------------------------


def _bucket(acct: MotoAccount, name: str, region: str, tags: dict[str, str]) -> Any:
    s3 = acct.client("s3", region)
    extra = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=name, **extra)
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]})
    return s3


def _block_public(s3: Any, name: str) -> None:
    flags = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=dict.fromkeys(flags, True))


def _buckets(acct: MotoAccount, rng: random.Random, built: PostureEstate) -> None:
    prod = {"Environment": "prod"}
    s3 = _bucket(acct, LOG_BUCKET, HOME_REGION, {**prod, "Classification": "internal"})
    _block_public(s3, LOG_BUCKET)
    delivery = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": service},
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{LOG_BUCKET}/*",
            }
            for service in ("logging.s3.amazonaws.com", "delivery.logs.amazonaws.com")
        ],
    }
    s3.put_bucket_policy(Bucket=LOG_BUCKET, Policy=json.dumps(delivery))
    _block_public(
        _bucket(acct, CLOUDTRAIL_BUCKET, HOME_REGION, {**prod, "Classification": "internal"}), CLOUDTRAIL_BUCKET
    )

    # labelled internal by name and tag; holds card numbers (discover makes it restricted: a conflict)
    s3 = _bucket(acct, SENSITIVE_BUCKET, HOME_REGION, {**prod, "Classification": "internal", "App": "payments"})
    _block_public(s3, SENSITIVE_BUCKET)
    s3.put_bucket_logging(
        Bucket=SENSITIVE_BUCKET,
        BucketLoggingStatus={
            "LoggingEnabled": {"TargetBucket": LOG_BUCKET, "TargetPrefix": f"s3-access-logs/{SENSITIVE_BUCKET}/"}
        },
    )
    built.cards_written = _payment_objects(s3, rng)

    s3 = _bucket(acct, CI_BUCKET, HOME_REGION, {**prod, "Classification": "internal", "App": "ci"})
    _block_public(s3, CI_BUCKET)
    secret = "".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+", k=40))
    deploy_env = f"AWS_ACCESS_KEY_ID={built.leaked_key_id}\nAWS_SECRET_ACCESS_KEY={secret}\nAWS_REGION=us-east-1\n"
    s3.put_object(Bucket=CI_BUCKET, Key="builds/payments-api/0a41c9e2/deploy.env", Body=deploy_env.encode())
    s3.put_object(Bucket=CI_BUCKET, Key="builds/web/7f03bb10/build.log", Body=b"webpack compiled in 41s\n" * 200)

    s3 = _bucket(acct, ASSETS_BUCKET, HOME_REGION, {**prod, "Classification": "public", "App": "web"})
    public_read = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{ASSETS_BUCKET}/*",
            }
        ],
    }
    s3.put_bucket_policy(Bucket=ASSETS_BUCKET, Policy=json.dumps(public_read))
    s3.put_object(Bucket=ASSETS_BUCKET, Key="static/js/chunk-00042.js", Body=b"export const cart = [];\n" * 100)

    # tagged internal, made public by an ACL (someone shared a report link)
    s3 = _bucket(acct, REPORTS_BUCKET, HOME_REGION, {**prod, "Classification": "internal", "Exposure": "internal"})
    s3.put_bucket_acl(Bucket=REPORTS_BUCKET, ACL="public-read")
    s3.put_object(Bucket=REPORTS_BUCKET, Key="daily/2026-11-25/report-0001.txt", Body=b"orders: 18211\n")
    built.mislabeled.append(REPORTS_BUCKET)

    _block_public(_bucket(acct, EU_UPLOADS_BUCKET, EU_REGION, {**prod, "Classification": "pii"}), EU_UPLOADS_BUCKET)


def _card(rng: random.Random) -> str:
    prefix = rng.choice(CARD_PREFIXES)
    body = prefix + "".join(rng.choices("0123456789", k=(14 if prefix.startswith("37") else 15) - len(prefix)))
    return body + luhn.calc_check_digit(body)


def _payment_objects(s3: Any, rng: random.Random) -> int:
    """Settlement batches (gzip CSV) and chargeback cases (JSON) as the payments service writes them."""
    day = dt.date(2026, 11, 25)
    cards = 0
    for batch in range(1, 4):
        lines = ["merchant_id,card_number,amount,currency,settled_at"]
        for _ in range(40):
            lines.append(f"m-{rng.randrange(1000, 9999)},{_card(rng)},{rng.randrange(100, 90000) / 100:.2f},USD,{day}")
            cards += 1
        body = gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0)
        s3.put_object(Bucket=SENSITIVE_BUCKET, Key=f"settlements/{day}/batch-{batch:06d}.csv.gz", Body=body)
    for case in range(1, 4):
        record = {
            "case_id": f"cb-{case:07d}",
            "reason": "fraudulent",
            "card": {"pan": _card(rng), "expiry": "09/28"},
            "contact_email": f"cardholder{case}@example.com",
        }
        cards += 1
        s3.put_object(
            Bucket=SENSITIVE_BUCKET, Key=f"chargebacks/{day}/case-{case:07d}.json", Body=json.dumps(record).encode()
        )
    return cards


# -- network, load balancers, CloudFront ------------------------------------------------------------------------------


def _network(acct: MotoAccount, built: PostureEstate) -> list[str]:
    """The two VPCs; the home one's public subnets (for the load balancers)."""
    ec2 = acct.client("ec2", HOME_REGION)
    vpc_id, subnets = _vpc(ec2, HOME_VPC, "10.0.0.0/16", HOME_REGION)
    ec2.create_flow_logs(  # all traffic, but the default (v2) format: no pkt-srcaddr, flow-direction, tcp-flags
        ResourceIds=[vpc_id],
        ResourceType="VPC",
        TrafficType="ALL",
        LogDestinationType="s3",
        LogDestination=f"arn:aws:s3:::{LOG_BUCKET}",
        LogFormat=" ".join("${" + f + "}" for f in FLOW_FORMAT_V2.split()),
    )
    bastion_sg = _group(ec2, vpc_id, "bastion-sg", 22, "0.0.0.0/0")
    app_sg = _group(ec2, vpc_id, "app-sg", 8080, "10.0.0.0/16")
    _instance(ec2, subnets[0], bastion_sg, "bastion-1", public=True)
    _instance(ec2, subnets[1], app_sg, "app-1", public=False)
    built.mislabeled.append(HOME_VPC)

    eu = acct.client("ec2", EU_REGION)
    eu_vpc, _ = _vpc(eu, EU_VPC, "10.1.0.0/16", EU_REGION)
    eu.create_flow_logs(
        ResourceIds=[eu_vpc],
        ResourceType="VPC",
        TrafficType="ALL",
        LogDestinationType="s3",
        LogDestination=f"arn:aws:s3:::{LOG_BUCKET}",
        LogFormat=FLOW_FORMAT_V5_FIELDS,
    )
    return subnets


def _vpc(ec2: Any, name: str, cidr: str, region: str) -> tuple[str, list[str]]:
    vpc_id = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": "Name", "Value": name}, {"Key": "Environment", "Value": "prod"}])
    base = ".".join(cidr.split(".")[:2])
    subnets = [
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"{base}.{third}.0/24", AvailabilityZone=f"{region}{zone}")["Subnet"][
            "SubnetId"
        ]
        for third, zone in ((0, "a"), (1, "b"))
    ]
    gateway = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc_id)
    return vpc_id, subnets


def _group(ec2: Any, vpc_id: str, name: str, port: int, cidr: str) -> str:
    group = ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc_id)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": cidr}]}],
    )
    return group


def _instance(ec2: Any, subnet: str, group: str, name: str, *, public: bool) -> None:
    ec2.run_instances(
        ImageId="ami-12345678",  # any id: listing moto's images costs seconds
        InstanceType="t3.micro",
        MinCount=1,
        MaxCount=1,
        NetworkInterfaces=[
            {"DeviceIndex": 0, "SubnetId": subnet, "Groups": [group], "AssociatePublicIpAddress": public}
        ],
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}],
    )


def _load_balancers(acct: MotoAccount, subnets: list[str], built: PostureEstate) -> None:
    elbv2 = acct.client("elbv2", HOME_REGION)
    web = elbv2.create_load_balancer(Name=ALB_NAME, Subnets=subnets, Scheme="internet-facing", Type="application")
    elbv2.modify_load_balancer_attributes(
        LoadBalancerArn=web["LoadBalancers"][0]["LoadBalancerArn"],
        Attributes=[
            {"Key": "access_logs.s3.enabled", "Value": "true"},
            {"Key": "access_logs.s3.bucket", "Value": LOG_BUCKET},
            {"Key": "connection_logs.s3.enabled", "Value": "true"},
            {"Key": "connection_logs.s3.bucket", "Value": LOG_BUCKET},
        ],
    )
    # named internal, placed internet-facing, logging nothing
    elbv2.create_load_balancer(Name=ADMIN_ALB, Subnets=subnets, Scheme="internet-facing", Type="application")
    built.mislabeled.append(ADMIN_ALB)


def _cloudfront(acct: MotoAccount) -> None:
    acct.client("cloudfront", HOME_REGION).create_distribution(
        DistributionConfig={
            "CallerReference": "prod-ext-web-cdn",
            "Comment": "prod-ext-web-cdn",
            "Enabled": True,
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "assets",
                        "DomainName": f"{ASSETS_BUCKET}.s3.amazonaws.com",
                        "S3OriginConfig": {"OriginAccessIdentity": ""},
                    }
                ],
            },
            "DefaultCacheBehavior": {
                "TargetOriginId": "assets",
                "ViewerProtocolPolicy": "redirect-to-https",
                "MinTTL": 0,
                "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
                "TrustedSigners": {"Enabled": False, "Quantity": 0},
            },
            "Logging": {
                "Enabled": True,
                "IncludeCookies": False,
                "Bucket": f"{LOG_BUCKET}.s3.amazonaws.com",
                "Prefix": "cloudfront-logs/",
            },
        }
    )


# -- APIs, databases, functions -------------------------------------------------------------------------------------


def _rest_api(acct: MotoAccount, name: str) -> str:
    api = acct.client("apigateway", HOME_REGION)
    api_id = api.create_rest_api(name=name, endpointConfiguration={"types": ["REGIONAL"]})["id"]
    root = api.get_resources(restApiId=api_id)["items"][0]["id"]
    api.put_method(restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="NONE")
    api.put_integration(restApiId=api_id, resourceId=root, httpMethod="GET", type="MOCK")
    api.create_deployment(restApiId=api_id, stageName="prod")
    return api_id


def _apis(acct: MotoAccount, built: PostureEstate) -> None:
    public = _rest_api(acct, PUBLIC_API)
    acct.client("apigateway", HOME_REGION).update_stage(  # access logs (the log demo's), no execution logging
        restApiId=public,
        stageName="prod",
        patchOperations=[
            {
                "op": "replace",
                "path": "/accessLogSettings/destinationArn",
                "value": f"arn:aws:logs:{HOME_REGION}:{ACCOUNT}:log-group:/aws/apigateway/{PUBLIC_API}",
            },
            {"op": "replace", "path": "/accessLogSettings/format", "value": "$context.requestId"},
        ],
    )
    _rest_api(acct, PAYMENTS_API)  # named internal; a REGIONAL endpoint is reachable from the internet
    built.mislabeled.append(PAYMENTS_API)


def _databases(acct: MotoAccount) -> None:
    common = {"DBInstanceClass": "db.t3.micro", "MasterUsername": "admin1", "MasterUserPassword": "password123"}
    acct.client("rds", HOME_REGION).create_db_instance(
        DBInstanceIdentifier="payments-db",
        Engine="postgres",
        AllocatedStorage=50,
        Tags=[{"Key": "Classification", "Value": "pci"}, {"Key": "Environment", "Value": "prod"}],
        **common,
    )
    acct.client("rds", EU_REGION).create_db_instance(
        DBInstanceIdentifier="customers-db",
        Engine="mysql",
        AllocatedStorage=20,
        EnableCloudwatchLogsExports=["error"],
        Tags=[{"Key": "Classification", "Value": "pii"}, {"Key": "Environment", "Value": "prod"}],
        **common,
    )
    for region, table, label in (
        (HOME_REGION, "payments-ledger", "pci"),
        (HOME_REGION, "merchant-sessions", "internal"),
        (EU_REGION, "eu-customer-profiles", "pii"),
    ):
        acct.client("dynamodb", region).create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            Tags=[{"Key": "Classification", "Value": label}, {"Key": "Environment", "Value": "prod"}],
        )


def _functions(acct: MotoAccount, built: PostureEstate) -> None:
    iam = acct.client("iam", HOME_REGION)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return {'statusCode': 200}\n")
    functions = acct.client("lambda", HOME_REGION)
    for name, tags in (
        (WEBHOOK_FUNCTION, {"Environment": "prod", "Exposure": "internal"}),
        ("report-generator", {"Environment": "prod"}),
        ("cloudtrail-guard", {"Environment": "prod", "Classification": "internal"}),
    ):
        role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        functions.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="index.handler",
            Code={"ZipFile": code.getvalue()},
            Tags=tags,
        )
    # tagged internal; the payment provider calls it through a URL that asks for no auth
    functions.create_function_url_config(FunctionName=WEBHOOK_FUNCTION, AuthType="NONE")
    built.mislabeled.append(WEBHOOK_FUNCTION)


# -- CloudTrail and CloudWatch Logs ---------------------------------------------------------------------------------


def _trail(acct: MotoAccount) -> None:
    trail = acct.client("cloudtrail", HOME_REGION)
    trail.create_trail(
        Name=TRAIL_NAME, S3BucketName=CLOUDTRAIL_BUCKET, IsMultiRegionTrail=True, EnableLogFileValidation=True
    )
    trail.start_logging(Name=TRAIL_NAME)
    trail.put_event_selectors(  # management events and the payments bucket's objects; no KMS key
        TrailName=TRAIL_NAME,
        AdvancedEventSelectors=[
            {"Name": "management", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]},
            {
                "Name": "payments-objects",
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Data"]},
                    {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                    {"Field": "resources.ARN", "StartsWith": [f"arn:aws:s3:::{SENSITIVE_BUCKET}/"]},
                ],
            },
        ],
    )


def _log_groups(acct: MotoAccount) -> None:
    logs = acct.client("logs", HOME_REGION)
    for group, days in ((f"/aws/lambda/{WEBHOOK_FUNCTION}", 14), (f"/aws/apigateway/{PUBLIC_API}", 400)):
        logs.create_log_group(logGroupName=group)
        logs.put_retention_policy(logGroupName=group, retentionInDays=days)
        logs.create_log_stream(logGroupName=group, logStreamName="demo")
        logs.put_log_events(
            logGroupName=group,
            logStreamName="demo",
            logEvents=[{"timestamp": int(time.time() * 1000), "message": "START RequestId: demo"}],
        )
