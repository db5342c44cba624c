"""DuckDB reading a lake on S3: the httpfs extension and a secret built from the standard AWS credential chain."""

from __future__ import annotations

from urllib.parse import urlsplit

import boto3
import duckdb

from loglake.lake.catalog import LakeError, LakeLocation


def configure_s3(con: duckdb.DuckDBPyConnection, location: LakeLocation, extension: str) -> None:
    """Let `con` read the lake's s3:// files: keys from the AWS chain (env, profile, role), held only in memory.

    `extension` is the httpfs extension file. The secret's values never reach a log or an error message.
    """
    con.execute(f"LOAD '{extension}'")
    session = boto3.session.Session()
    credentials = session.get_credentials()
    if credentials is None:
        raise LakeError(
            f"no AWS credentials for the lake at {location.address}: set them up in the standard AWS chain "
            "(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile, or an instance/Lambda role)"
        )
    frozen = credentials.get_frozen_credentials()
    options = {
        "TYPE": "s3",
        "KEY_ID": frozen.access_key,
        "SECRET": frozen.secret_key,
        "REGION": session.region_name or "us-east-1",
    }
    if frozen.token:
        options["SESSION_TOKEN"] = frozen.token
    if location.endpoint_url:
        endpoint = urlsplit(location.endpoint_url)
        options |= {"ENDPOINT": endpoint.netloc, "USE_SSL": endpoint.scheme == "https", "URL_STYLE": "path"}
    body = ", ".join(f"{name} {_value(value)}" for name, value in options.items())
    try:
        con.execute(f"CREATE OR REPLACE SECRET loglake_lake ({body})")
    except duckdb.Error:
        raise LakeError(f"DuckDB could not take the AWS credentials for {location.address}") from None


def _value(value: str | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "'" + value.replace("'", "''") + "'"
