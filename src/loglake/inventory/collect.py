"""Run the collectors over the regions and assemble the snapshot; a failing collector is an error row, not a stop."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from types import ModuleType

from botocore.exceptions import BotoCoreError, ClientError

from loglake.inventory.aws import DEFAULT_REGION, Aws, describe_error, fatal_for_run, session
from loglake.inventory.collectors import BY_SERVICE, COLLECTORS
from loglake.inventory.collectors import s3 as s3_collector
from loglake.inventory.collectors.base import Ctx
from loglake.inventory.interfaces import attach_interfaces
from loglake.inventory.snapshot import Inventory, InventoryError

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Job:
    collector: ModuleType
    region: str

    @property
    def label(self) -> str:
        return f"{self.collector.SERVICE} {'(global)' if self.collector.GLOBAL else self.region}"


def plan_jobs(regions: list[str], services: list[str] | None = None) -> list[Job]:
    chosen = COLLECTORS if not services else [_collector(s) for s in services]
    jobs = []
    for collector in chosen:
        if collector.GLOBAL:
            jobs.append(Job(collector, regions[0]))
        else:
            jobs.extend(Job(collector, region) for region in regions)
    return jobs


def _collector(name: str) -> ModuleType:
    if name not in BY_SERVICE:
        raise InventoryError(f"unknown service {name!r}; use some of: {', '.join(BY_SERVICE)}")
    return BY_SERVICE[name]


def resolve_regions(profile: str | None, regions: list[str] | None, endpoint_url: str | None) -> list[str]:
    if regions and regions != ["all"]:
        return regions
    home = session(profile).region_name or DEFAULT_REGION
    if regions == ["all"]:
        try:
            ec2 = Aws(profile, home, endpoint_url).client("ec2")
            return sorted(r["RegionName"] for r in ec2.describe_regions()["Regions"])
        except (ClientError, BotoCoreError) as error:
            raise fatal_for_run(error) or InventoryError(f"cannot list regions: {describe_error(error)}") from None
    return [home]


def caller_account(profile: str | None, region: str, endpoint_url: str | None) -> tuple[str, str]:
    try:
        arn = Aws(profile, region, endpoint_url).client("sts").get_caller_identity()["Arn"]
    except (ClientError, BotoCoreError) as error:
        fatal = fatal_for_run(error)
        if fatal:
            raise fatal from None
        raise InventoryError(f"cannot tell which AWS account this is (sts): {describe_error(error)}") from None
    parts = arn.split(":")
    return parts[4], parts[1]


def run_inventory(
    *,
    profile: str | None = None,
    regions: list[str] | None = None,
    endpoint_url: str | None = None,
    services: list[str] | None = None,
    progress: Progress | None = None,
    on_plan: Callable[[int], None] | None = None,
    workers: int = 6,
) -> Inventory:
    plan_jobs(["check"], services)  # an unknown service is the user's to fix before any call
    regions = resolve_regions(profile, regions, endpoint_url)
    account, partition = caller_account(profile, regions[0], endpoint_url)
    inventory = Inventory(
        account=account,
        partition=partition,
        regions=regions,
        collected_at=dt.datetime.now(
            dt.UTC
        ).isoformat(),  # to the microsecond: two runs in one second are two snapshots
        endpoint_url=endpoint_url,
        profile=profile,
    )
    jobs = plan_jobs(regions, services)
    if on_plan:
        on_plan(len(jobs) + 1)

    shared = Aws(profile, regions[0], endpoint_url)

    def run(job: Job):
        ctx = Ctx(shared.for_region(job.region), account, partition, job.region)
        return job.collector.collect(ctx)

    results: dict[Job, list] = {}
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(jobs)))) as pool:
        futures = {pool.submit(run, job): job for job in jobs}
        for future in as_completed(futures):
            job = futures[future]
            try:
                results[job] = future.result()
            except (ClientError, BotoCoreError) as error:
                fatal = fatal_for_run(error)
                if fatal:
                    raise fatal from None
                inventory.errors.append(
                    {"service": job.collector.SERVICE, "region": job.region, "error": describe_error(error)}
                )
            if progress:
                progress(job.label)
    for job in jobs:  # a stable order whatever finished first
        inventory.resources.extend(results.get(job, []))
    attach_interfaces(inventory.resources)
    if services is None or "s3" in services:
        settings = s3_collector.account_settings(Ctx(shared, account, partition, regions[0]))
        error = settings.pop("s3_public_access_block_error", None)
        if error:
            inventory.errors.append({"service": "s3control", "region": regions[0], "error": error})
        inventory.account_settings.update(settings)
    if progress:
        progress("account settings")
    return inventory
