"""The ingest as a map into Parquet shards and a reduce into DuckDB: the same tables as reading the files in
one process, shards named by their input (a second run maps nothing), and the same on a two-worker dask cluster
reading files from disk and from a real S3 API on loopback, even when a worker is killed mid-run."""

from __future__ import annotations

import os
import signal
import threading
import time

import duckdb
import pytest

from analyzer import api, sharding

from .conftest import SAMPLE_LOGS
from .test_sources import lines, put, s3, server, write_jsonl  # noqa: F401 - the loopback S3 fixtures

#: When a row was written (and whether a file was old enough to trust its mtime) differs between runs.
TIMES = {"files": ["ingested_at", "mtime_ns"], "rejects": ["rejected_at"], "_migrations": ["applied_at"]}


def tables(db) -> dict[str, list]:
    """Every row of every table (ordered), write times aside."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
        dumped = {}
        for name in names:
            skip = TIMES.get(name)
            columns = f"* EXCLUDE ({', '.join(skip)})" if skip else "*"
            dumped[name] = sorted(map(repr, con.execute(f'SELECT {columns} FROM "{name}"').fetchall()))
        return dumped
    finally:
        con.close()


def test_sharded_ingest_stores_what_one_process_does_and_a_second_run_maps_nothing(tmp_path):
    api.ingest([str(SAMPLE_LOGS)], db=str(tmp_path / "plain.duckdb"), jobs=1)
    api.ingest([str(SAMPLE_LOGS)], db=str(tmp_path / "sharded.duckdb"), jobs=1, dataset=str(tmp_path / "set"))
    shards = sorted(p.name for p in (tmp_path / "set/shards").iterdir())
    assert shards and all((tmp_path / "set/shards" / s / sharding.MANIFEST).exists() for s in shards)
    plain = tables(tmp_path / "plain.duckdb")
    assert plain["requests"] and tables(tmp_path / "sharded.duckdb") == plain
    # A new database from the same dataset: every shard is found by its name, none read again.
    # (The report's tables under set/tables are written again by every run, by design: only shards count.)
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "set/shards").rglob("*.parquet")}
    api.ingest([str(SAMPLE_LOGS)], db=str(tmp_path / "again.duckdb"), jobs=1, dataset=str(tmp_path / "set"))
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "set/shards").rglob("*.parquet")} == before
    assert sorted(p.name for p in (tmp_path / "set/shards").iterdir()) == shards
    assert tables(tmp_path / "again.duckdb") == plain


def test_a_grown_file_is_read_on_into_a_new_shard(tmp_path):
    log = tmp_path / "logs/day.jsonl"
    write_jsonl(log, lines(20))
    api.ingest([str(tmp_path / "logs")], db=str(tmp_path / "plain.duckdb"), jobs=1)
    api.ingest([str(tmp_path / "logs")], db=str(tmp_path / "sharded.duckdb"), jobs=1, dataset=str(tmp_path / "set"))
    with log.open("a") as f:
        f.write("".join(__import__("json").dumps(r) + "\n" for r in lines(10, start=20)))
    api.ingest([str(tmp_path / "logs")], db=str(tmp_path / "plain.duckdb"), jobs=1)
    run = api.ingest([str(tmp_path / "logs")], db=str(tmp_path / "sharded.duckdb"), jobs=1,
                     dataset=str(tmp_path / "set"))
    assert [(f.tail, f.records, f.stored) for f in run.files] == [(True, 10, 10)]
    assert len(list((tmp_path / "set/shards").iterdir())) == 2
    assert tables(tmp_path / "sharded.duckdb") == tables(tmp_path / "plain.duckdb")


def counting(monkeypatch, module, name: str) -> list[str]:
    """The files ``module.name`` (a fingerprint function) hashes, as they are hashed."""
    real, hashed = getattr(module, name), []

    def counted(path, *args, **kwargs):
        hashed.append(str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return hashed


def test_a_new_file_is_hashed_by_its_map_task_and_named_by_its_time_or_version(tmp_path, s3, monkeypatch):  # noqa: F811 - the fixture
    from analyzer import ingesting

    old, fresh = tmp_path / "logs/old.jsonl", tmp_path / "logs/fresh.jsonl"
    write_jsonl(old, lines(20))
    write_jsonl(fresh, lines(20, start=20))
    hour = 3600 * 10**9
    os.utime(old, ns=(time.time_ns() - hour,) * 2)  # settled: its time says it is unchanged
    os.utime(fresh, ns=(time.time_ns() + hour,) * 2)  # not settled (written within the clock's resolution)
    remote = put(s3, "gateway/day.jsonl", "".join(__import__("json").dumps(r) + "\n" for r in lines(20, start=40)
                                                 ).encode())
    inputs = [str(tmp_path / "logs"), remote]
    api.ingest(inputs, db=str(tmp_path / "plain.duckdb"), jobs=1)
    here = counting(monkeypatch, ingesting, "fingerprint")  # what the parent hashes
    mapped = counting(monkeypatch, sharding, "fingerprint")  # what map tasks hash (in this process: --jobs 1)
    api.ingest(inputs, db=str(tmp_path / "sharded.duckdb"), jobs=1, dataset=str(tmp_path / "set"))
    assert here == [str(fresh)]
    assert sorted(mapped) == sorted([str(old), remote])
    # The files rows hold the hashes the parent would have computed: the same tables as without a dataset.
    plain = tables(tmp_path / "plain.duckdb")
    assert tables(tmp_path / "sharded.duckdb") == plain
    # Into a new database: every shard is found by its name and gives its file's hash; nothing is read again.
    here.clear()
    mapped.clear()
    before = sorted(p.name for p in (tmp_path / "set/shards").iterdir())
    api.ingest(inputs, db=str(tmp_path / "again.duckdb"), jobs=1, dataset=str(tmp_path / "set"))
    assert here == [str(fresh)] and mapped == []
    assert sorted(p.name for p in (tmp_path / "set/shards").iterdir()) == before
    assert tables(tmp_path / "again.duckdb") == plain
    # Touched, its bytes the same: read into a shard of a new name, the same hash in the files row.
    os.utime(old, ns=(time.time_ns() - hour // 2,) * 2)
    api.ingest(inputs, db=str(tmp_path / "touched.duckdb"), jobs=1, dataset=str(tmp_path / "set"))
    assert mapped == [str(old)] and len(list((tmp_path / "set/shards").iterdir())) == len(before) + 1
    assert tables(tmp_path / "touched.duckdb") == plain


def test_a_new_file_in_pieces_is_hashed_whole_by_its_first_piece(tmp_path, monkeypatch):
    from analyzer import reading

    log = tmp_path / "logs/big.jsonl"
    write_jsonl(log, lines(60))
    os.utime(log, ns=(time.time_ns() - 3600 * 10**9,) * 2)
    monkeypatch.setattr(reading, "CHUNK_BYTES", log.stat().st_size // 5)
    api.ingest([str(tmp_path / "logs")], db=str(tmp_path / "plain.duckdb"), jobs=1)
    mapped = counting(monkeypatch, sharding, "fingerprint")
    api.ingest([str(tmp_path / "logs")], db=str(tmp_path / "sharded.duckdb"), jobs=1, dataset=str(tmp_path / "set"))
    assert len(list((tmp_path / "set/shards").iterdir())) >= 5 and mapped == [str(log)]
    assert tables(tmp_path / "sharded.duckdb") == tables(tmp_path / "plain.duckdb")


def test_a_new_file_that_cannot_be_read_is_one_reject_as_without_a_dataset(tmp_path, monkeypatch):
    from analyzer import ingesting, sources

    log = tmp_path / "logs/locked.jsonl"
    write_jsonl(log, lines(5))
    os.utime(log, ns=(time.time_ns() - 3600 * 10**9,) * 2)

    def denied(path, *args, **kwargs):  # root reads any file whatever its mode: deny it here
        raise PermissionError(13, "Permission denied")

    with monkeypatch.context() as patched:
        patched.setattr(ingesting, "fingerprint", denied)
        api.ingest([str(tmp_path / "logs")], db=str(tmp_path / "plain.duckdb"), jobs=1)
    with monkeypatch.context() as patched:
        patched.setattr(sources, "read_range", denied)  # the parent only opens a new file: hashing is the map's
        run = api.ingest([str(tmp_path / "logs")], db=str(tmp_path / "sharded.duckdb"), jobs=1,
                         dataset=str(tmp_path / "set"))
    assert [(f.records, f.rejected) for f in run.files] == [(1, 1)]
    assert tables(tmp_path / "sharded.duckdb") == tables(tmp_path / "plain.duckdb")


distributed = pytest.importorskip("distributed", reason="dask.distributed (the dask and test extras) runs the cluster")


@pytest.fixture
def cluster():
    """A dask cluster of two worker processes on loopback, each with its nanny (which restarts a killed worker)."""
    running = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                       host="127.0.0.1")
    client = distributed.Client(running)
    yield running, client
    client.close()
    running.close()


def mixed_inputs(tmp_path, s3):  # noqa: F811 - the fixture
    logs = tmp_path / "logs"
    for day in range(4):
        write_jsonl(logs / f"day{day}.jsonl", [*lines(60, start=day * 50), "{broken"])  # overlapping ids: duplicates
    write_jsonl(logs / "late.jsonl.gz", lines(30, start=400), gz=True)
    remote = [put(s3, f"gateway/r{i}.jsonl", "".join(__import__("json").dumps(r) + "\n"
                                                     for r in lines(40, start=500 + i * 30)).encode())
              for i in range(3)]
    return [str(logs), *remote]


def test_a_dask_cluster_the_local_pool_and_one_process_store_the_same_tables(tmp_path, s3, cluster, monkeypatch):  # noqa: F811 - the fixture
    from analyzer import ingesting

    running, _ = cluster
    inputs = mixed_inputs(tmp_path, s3)
    api.ingest(inputs, db=str(tmp_path / "one.duckdb"), jobs=1)
    monkeypatch.setattr(ingesting, "PARALLEL_MIN_BYTES", 0)
    api.ingest(inputs, db=str(tmp_path / "pool.duckdb"), jobs=2)
    run = api.ingest(inputs, db=str(tmp_path / "dask.duckdb"), executor="dask", address=running.scheduler_address,
                     dataset=str(tmp_path / "set"))
    assert run.total("duplicates") > 0 and run.total("rejected") == 4
    one = tables(tmp_path / "one.duckdb")
    assert tables(tmp_path / "pool.duckdb") == one
    assert tables(tmp_path / "dask.duckdb") == one


def test_killing_a_worker_mid_run_still_ends_with_the_same_tables(tmp_path, s3, cluster):  # noqa: F811 - the fixture
    running, client = cluster
    inputs = mixed_inputs(tmp_path, s3)
    api.ingest(inputs, db=str(tmp_path / "one.duckdb"), jobs=1)
    killed = []

    def kill_one_busy_worker():
        # As soon as a worker is running a shard task (its first one loads the tokenizers: seconds),
        # its process is killed outright; the scheduler runs its tasks again elsewhere.
        pids = client.run(os.getpid)
        while not killed:
            busy = [w for w, keys in client.processing().items() if any("crossover-shard" in str(k) for k in keys)]
            if busy:
                os.kill(pids[busy[0]], signal.SIGKILL)
                killed.append(busy[0])
            time.sleep(0.02)

    killer = threading.Thread(target=kill_one_busy_worker, daemon=True)
    killer.start()
    api.ingest(inputs, db=str(tmp_path / "dask.duckdb"), executor="dask", address=running.scheduler_address,
               dataset=str(tmp_path / "set"))
    killer.join(timeout=5)
    assert killed, "no worker was killed while running a task"
    assert tables(tmp_path / "dask.duckdb") == tables(tmp_path / "one.duckdb")


# The report from the dataset ------------------------------------------------------------------

def report_outputs(*args: str) -> dict[str, str]:
    """`crossover report ARGS` as text and as JSON (stdout), each checked to have exited 0."""
    from click.testing import CliRunner

    from analyzer.cli import cli

    outputs = {}
    for fmt in ("table", "json"):
        result = CliRunner().invoke(cli, ["report", *args, "--format", fmt])
        assert result.exit_code == 0, result.output
        outputs[fmt] = result.stdout
    return outputs


def test_the_report_from_a_local_dataset_is_the_report_from_the_database(tmp_path):
    api.ingest([str(SAMPLE_LOGS)], db=str(tmp_path / "db.duckdb"), jobs=1, dataset=str(tmp_path / "set"))
    assert sorted(p.name for p in (tmp_path / "set/tables").iterdir()) == sorted(
        [sharding.MANIFEST, *(f"{t}.parquet" for t in sharding.storage.REPORT_TABLES)])
    from_db = report_outputs("--db", str(tmp_path / "db.duckdb"))
    assert "requests" in from_db["table"] and from_db["json"].startswith("{")
    assert report_outputs("--dataset", str(tmp_path / "set")) == from_db
    # A second run with nothing new writes the tables again, the same.
    api.ingest([str(SAMPLE_LOGS)], db=str(tmp_path / "db.duckdb"), jobs=1, dataset=str(tmp_path / "set"))
    assert report_outputs("--dataset", str(tmp_path / "set")) == from_db


def test_the_dataset_connection_reads_its_tables_and_nothing_else(tmp_path):
    api.ingest([str(SAMPLE_LOGS)], db=str(tmp_path / "db.duckdb"), jobs=1, dataset=str(tmp_path / "set"))
    (tmp_path / "other.csv").write_text("a\n1\n")
    con = sharding.open_dataset(str(tmp_path / "set"))
    try:
        assert con.execute("SELECT count(*) FROM requests").fetchone()[0] > 0
        for sql in (f"SELECT * FROM read_csv('{tmp_path / 'other.csv'}')",
                    f"COPY requests TO '{tmp_path / 'out.parquet'}'",
                    "INSERT INTO meta VALUES ('final_pass', 'done')",
                    "SET enable_external_access = true"):
            with pytest.raises(duckdb.Error):
                con.execute(sql)
    finally:
        con.close()
    assert not (tmp_path / "out.parquet").exists()


@pytest.mark.parametrize("damage", ["no tables", "a table gone", "a table rewritten", "another version"])
def test_a_missing_or_incomplete_dataset_is_one_line_and_exit_2(tmp_path, damage):
    import json
    import shutil

    from click.testing import CliRunner

    from analyzer.cli import cli

    api.ingest([str(SAMPLE_LOGS)], db=str(tmp_path / "db.duckdb"), jobs=1, dataset=str(tmp_path / "set"))
    tables_dir = tmp_path / "set/tables"
    manifest = json.loads((tables_dir / sharding.MANIFEST).read_text())
    if damage == "no tables":
        shutil.rmtree(tables_dir)
    elif damage == "a table gone":
        (tables_dir / "prices.parquet").unlink()
    elif damage == "a table rewritten":  # another run's file, not the one the manifest counted
        manifest["rows"]["requests"] += 1
        (tables_dir / sharding.MANIFEST).write_text(json.dumps(manifest))
    else:
        manifest["migrations"] = manifest["migrations"][:-1]
        (tables_dir / sharding.MANIFEST).write_text(json.dumps(manifest))
    result = CliRunner().invoke(cli, ["report", "--dataset", str(tmp_path / "set")])
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert str(tmp_path / "set") in result.stderr and "crossover ingest" in result.stderr


def test_the_report_from_a_dataset_in_s3_is_the_report_from_the_database(tmp_path, s3):  # noqa: F811 - the fixture
    dataset = f"s3://{s3.bucket}/crossover/"
    inputs = [str(SAMPLE_LOGS), put(s3, "gateway/r.jsonl", "".join(
        __import__("json").dumps(r) + "\n" for r in lines(40, start=900)).encode())]
    api.ingest(inputs, db=str(tmp_path / "db.duckdb"), jobs=1, dataset=dataset)
    api.ingest(inputs, db=str(tmp_path / "plain.duckdb"), jobs=1)
    assert tables(tmp_path / "db.duckdb") == tables(tmp_path / "plain.duckdb")  # shards loaded from S3
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=s3.bucket, Prefix="crossover/tables/")["Contents"]}
    assert "crossover/tables/manifest.json" in keys and "crossover/tables/requests.parquet" in keys
    assert report_outputs("--dataset", dataset) == report_outputs("--db", str(tmp_path / "db.duckdb"))
    # Read and written through fsspec: DuckDB's own S3 extension was never installed (downloaded).
    assert not duckdb.connect().execute("SELECT count(*) FROM duckdb_extensions() WHERE extension_name = 'httpfs' "
                                        "AND installed").fetchone()[0]
