"""Many writers at once: four OS processes ingest overlapping object sets into one lake; every object lands
exactly once. On a local lake (SQLite, flock) and on an S3 lake whose catalog and state are a shared
PostgreSQL (what writers on several machines use)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import uuid

from sqlalchemy import create_engine, text

from loglake.cli.app import resolve_lake
from loglake.query import engine
from tests.ingest.helpers import write_cloudtrail
from tests.lake.s3lake import new_s3_lake
from tests.servers import S3Server

WRITERS = 4
FILES, PER_FILE = 24, 20


def _sources(root) -> list[list[str]]:
    """Each writer's objects: 12 of the 24 files, every file in two writers' sets (starting at different ends)."""
    files = sorted(str(p) for p in write_cloudtrail(root, dt.date(2024, 6, 3), FILES, PER_FILE))
    half = len(files) // 2
    sets = [files[:half], files[half:], files[::2], files[1::2]]
    return [s if i % 2 == 0 else list(reversed(s)) for i, s in enumerate(sets)]


def _run_writers(sources: list[list[str]], lake: str, settings: list[str], envs: list[dict]) -> None:
    """All writers at once, each an OS process; many small commits (2 objects each) make many races."""
    writers = [
        subprocess.Popen(
            [sys.executable, "-m", "loglake", *settings, "ingest", *files, "--lake", lake, "--workers", "1"],
            env={**env, "LOGLAKE_BATCH_OBJECTS": "2", "LOGLAKE_COMMIT_BATCHES": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for files, env in zip(sources, envs, strict=True)
    ]
    for writer in writers:
        _, err = writer.communicate(timeout=600)
        assert writer.returncode == 0, err


def _assert_exactly_once(lake_root, files: list[str]) -> None:
    con = engine.connect(lake_root)
    rows, distinct, objects = con.execute(
        "SELECT count(*), count(DISTINCT (lake_file, lake_row)), count(DISTINCT lake_file) FROM cloudtrail_logs"
    ).fetchone()
    assert (rows, distinct, objects) == (FILES * PER_FILE, FILES * PER_FILE, FILES)
    assert {r[0] for r in con.execute("SELECT DISTINCT lake_file FROM cloudtrail_logs").fetchall()} == set(files)


def test_four_writers_on_a_local_lake(tmp_path):
    sources = _sources(tmp_path / "src")
    _run_writers(sources, str(tmp_path / "lake"), [], [dict(os.environ)] * WRITERS)
    _assert_exactly_once(tmp_path / "lake", sorted({f for s in sources for f in s}))


def _shared_lake(moto_server, postgres_server, tmp_path):
    """A lake on moto_server's S3 with a fresh PostgreSQL database as catalog and state; its CLI settings."""
    database = f"lake_{uuid.uuid4().hex[:8]}"
    with create_engine(postgres_server.url, isolation_level="AUTOCOMMIT").connect() as admin:
        admin.execute(text(f"CREATE DATABASE {database}"))
    url = postgres_server.url.rsplit("/", 1)[0] + f"/{database}"
    server = S3Server(moto_server, "loglaketest", "loglaketestsecret")
    lake = new_s3_lake(server, tmp_path / "state")
    return lake, url, ["--endpoint-url", server.endpoint_url, "--catalog", f"sql:{url}"]


def _machine(lake, tmp_path, i: int, **extra: str) -> dict:
    """A writer's environment as on a machine of its own: its own state folder."""
    return {**lake.env, "LOGLAKE_STATE_DIR": str(tmp_path / f"machine{i}"), **extra}


def _read_shared(lake, url: str, monkeypatch):
    for name, value in lake.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LOGLAKE_CATALOG", f"sql:{url}")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", lake.server.endpoint_url)
    return resolve_lake(lake.address)


def _ledger_counts(url: str) -> tuple[int, int, int]:
    with create_engine(url).connect() as db:
        keys = db.execute(text("SELECT count(*), count(DISTINCT key) FROM ingested_objects")).one()
        pending = db.execute(text("SELECT count(*) FROM pending_objects")).scalar()
    return keys[0], keys[1], pending


def test_four_writers_on_s3_with_a_shared_postgresql(moto_server, postgres_server, tmp_path, monkeypatch):
    """Each writer has its own state folder, as on its own machine: only S3 and PostgreSQL are shared.

    The data is on moto_server's S3: rclone serve s3 (1.75, no VFS cache) answered four concurrent writers'
    uploads with 500s and later had no object at a metadata file's key that an upload had reported written.
    """
    lake, url, settings = _shared_lake(moto_server, postgres_server, tmp_path)
    sources = _sources(tmp_path / "src")
    _run_writers(sources, lake.address, settings, [_machine(lake, tmp_path, i) for i in range(WRITERS)])
    _assert_exactly_once(_read_shared(lake, url, monkeypatch), sorted({f for s in sources for f in s}))
    assert _ledger_counts(url) == (FILES, FILES, 0)


def test_a_writer_killed_on_one_machine_is_finished_by_another(moto_server, postgres_server, tmp_path, monkeypatch):
    """Killed after committing but before its ledger transaction: its claim stays, its advisory lock goes with
    its connection; a writer on another machine takes the batch over and adds no row twice."""
    lake, url, settings = _shared_lake(moto_server, postgres_server, tmp_path)
    files = sorted(str(p) for p in write_cloudtrail(tmp_path / "src", dt.date(2024, 6, 4), FILES, PER_FILE))
    command = [sys.executable, "-m", "loglake", *settings, "ingest", *files, "--lake", lake.address, "--workers", "1"]
    fault = {"LOGLAKE_FAULT": "before-ledger:2", "LOGLAKE_BATCH_OBJECTS": "4", "LOGLAKE_COMMIT_BATCHES": "1"}
    killed = subprocess.run(
        command,
        env=_machine(lake, tmp_path, 0, **fault),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert killed.returncode == 137, killed.stderr
    assert _ledger_counts(url)[2] > 0  # claims left behind
    other = subprocess.run(
        command, env=_machine(lake, tmp_path, 1), capture_output=True, text=True, timeout=600, check=False
    )
    assert other.returncode == 0, other.stderr
    _assert_exactly_once(_read_shared(lake, url, monkeypatch), files)
    assert _ledger_counts(url) == (FILES, FILES, 0)


def test_four_writers_with_the_glue_catalog(moto_server, postgres_server, tmp_path, monkeypatch):
    """Glue (moto_server) commits with the table's version: a lost race is a CommitFailedException, retried."""
    lake, url, _ = _shared_lake(moto_server, postgres_server, tmp_path)
    settings = ["--endpoint-url", lake.server.endpoint_url, "--catalog", "glue", "--state", url]
    sources = _sources(tmp_path / "src")
    # Glue's database is `loglake` in every lake: another region keeps this test's tables apart from the others'
    glue = {"AWS_ENDPOINT_URL_GLUE": moto_server, "AWS_DEFAULT_REGION": "eu-west-3"}
    machines = [_machine(lake, tmp_path, i, **glue) for i in range(WRITERS)]
    _run_writers(sources, lake.address, settings, machines)
    for name, value in machines[0].items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LOGLAKE_CATALOG", "glue")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", lake.server.endpoint_url)
    _assert_exactly_once(resolve_lake(lake.address), sorted({f for s in sources for f in s}))
    assert _ledger_counts(url) == (FILES, FILES, 0)
