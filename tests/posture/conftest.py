"""Posture tests run against moto_server over real HTTP. Each test (or module) gets its own AWS account in the
server, by assuming a role in a fresh account id, so tests sharing one server (CI, xdist) never see each other."""

from __future__ import annotations

import io
import json
import random
import zipfile
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

REGION = "us-east-1"


@dataclass
class Account:
    endpoint: str
    id: str
    credentials: dict[str, str]

    def client(self, service: str, region: str = REGION):
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id=self.credentials["AccessKeyId"],
            aws_secret_access_key=self.credentials["SecretAccessKey"],
            aws_session_token=self.credentials["SessionToken"],
        )

    def env(self) -> dict[str, str]:
        """The standard chain's environment: all `loglake` needs to find this account."""
        return {
            "AWS_ACCESS_KEY_ID": self.credentials["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": self.credentials["SecretAccessKey"],
            "AWS_SESSION_TOKEN": self.credentials["SessionToken"],
            "AWS_DEFAULT_REGION": REGION,
        }

    def name(self, base: str) -> str:
        """A bucket-safe name unique to this account (S3 bucket names are global in moto too)."""
        return f"{base}-{self.id[-6:]}"


def new_account(endpoint: str) -> Account:
    account_id = str(random.randrange(10**11, 10**12))
    sts = boto3.client(
        "sts", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    role = f"arn:aws:iam::{account_id}:role/loglake-test"
    credentials = sts.assume_role(RoleArn=role, RoleSessionName="loglake-test")["Credentials"]
    return Account(endpoint, account_id, {k: str(v) for k, v in credentials.items()})


@pytest.fixture
def account(moto_server, monkeypatch) -> Account:
    acct = new_account(moto_server)
    for key, value in acct.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("COLUMNS", "250")
    return acct


@pytest.fixture(scope="module")
def module_account(moto_server) -> Account:
    return new_account(moto_server)


# -- builders: small resources in known states ----------------------------------------------------------------------


def bucket(acct: Account, name: str, tags: dict[str, str] | None = None) -> str:
    s3 = acct.client("s3")
    s3.create_bucket(Bucket=name)
    if tags:
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]})
    return name


def log_target(acct: Account, name: str) -> str:
    """A bucket that accepts S3 server access logs (moto needs the logging.s3 policy statement)."""
    bucket(acct, name)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{name}/*",
            }
        ],
    }
    acct.client("s3").put_bucket_policy(Bucket=name, Policy=json.dumps(policy))
    return name


def vpc(acct: Account, name: str, cidr: str = "10.0.0.0/16", igw: bool = True, tags: dict[str, str] | None = None):
    ec2 = acct.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    ec2.create_tags(
        Resources=[vpc_id],
        Tags=[{"Key": "Name", "Value": name}, *[{"Key": k, "Value": v} for k, v in (tags or {}).items()]],
    )
    subnets = [
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr.replace("0.0/16", f"{i}.0/24"), AvailabilityZone=f"{REGION}{z}")[
            "Subnet"
        ]["SubnetId"]
        for i, z in ((1, "a"), (2, "b"))
    ]
    if igw:
        gateway = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc_id)
    return vpc_id, subnets


def instance(
    acct: Account, subnet: str, vpc_id: str, *, open_to_world: bool, public_ip: bool = True, name: str = "web"
):
    ec2 = acct.client("ec2")
    group = ec2.create_security_group(GroupName=f"sg-{name}", Description="test", VpcId=vpc_id)["GroupId"]
    if open_to_world:
        ec2.authorize_security_group_ingress(
            GroupId=group,
            IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}],
        )
    found = ec2.run_instances(
        ImageId="ami-12345678",  # any id: listing moto's images costs seconds
        MinCount=1,
        MaxCount=1,
        NetworkInterfaces=[
            {"DeviceIndex": 0, "SubnetId": subnet, "Groups": [group], "AssociatePublicIpAddress": public_ip}
        ],
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}],
    )
    return found["Instances"][0]["InstanceId"]


def load_balancer(acct: Account, name: str, subnets: list[str], scheme: str = "internal", kind: str = "application"):
    return acct.client("elbv2").create_load_balancer(Name=name, Subnets=subnets, Scheme=scheme, Type=kind)[
        "LoadBalancers"
    ][0]["LoadBalancerArn"]


def lambda_function(acct: Account, name: str, url_auth: str | None = None, tags: dict[str, str] | None = None) -> str:
    iam = acct.client("iam")
    try:
        role = iam.get_role(RoleName="loglake-lambda")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
        role = iam.create_role(RoleName="loglake-lambda", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return 1\n")
    arn = acct.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": buffer.getvalue()},
        Tags=tags or {},
    )["FunctionArn"]
    if url_auth:
        acct.client("lambda").create_function_url_config(FunctionName=name, AuthType=url_auth)
    return arn


def rest_stage(acct: Account, name: str, endpoint: str = "REGIONAL", stage: str = "prod") -> str:
    api = acct.client("apigateway")
    api_id = api.create_rest_api(name=name, endpointConfiguration={"types": [endpoint]})["id"]
    root = api.get_resources(restApiId=api_id)["items"][0]["id"]
    api.put_method(restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="NONE")
    api.put_integration(restApiId=api_id, resourceId=root, httpMethod="GET", type="MOCK")
    api.create_deployment(restApiId=api_id, stageName=stage)
    return api_id


def trail(acct: Account, name: str, bucket_name: str, **kwargs: Any) -> str:
    ct = acct.client("cloudtrail")
    arn = ct.create_trail(Name=name, S3BucketName=bucket_name, **kwargs)["TrailARN"]
    ct.start_logging(Name=name)
    return arn


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    """`loglake ARGS` in this process: (exit code, stdout, stderr)."""
    from loglake.cli import main

    capsys.readouterr()
    try:
        code = main(list(args))
    except SystemExit as done:
        code = int(done.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err
