"""Logs in object storage, read through fsspec from a real S3 API on loopback (moto's server, not a mock of s3fs):
the same rows as from disk, the incremental rules of local files, clear rejects, no credential kept or shown."""

from __future__ import annotations

import gzip
import json
import logging
import os
import subprocess
import sys
from urllib.parse import parse_qsl, urlsplit

import duckdb
import pytest

from analyzer import api, ingesting, sources, storage

from .conftest import SAMPLE_LOGS, chat_line, invoke, table_dump, write_jsonl

moto_server = pytest.importorskip("moto.server", reason="moto[server] (the test extra) runs the loopback S3 API")
s3fs = pytest.importorskip("s3fs", reason="s3fs (the s3 and test extras) reads s3:// paths")
boto3 = pytest.importorskip("boto3", reason="boto3 (with moto) uploads the test objects")

KEY_ID, SECRET = "AKIACROSSOVERTESTKEY", "crossover-test-secret-never-shown-9f3e1c"


@pytest.fixture(scope="module")
def server():
    """moto's S3 API on a free loopback port, for the module."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one log line per request otherwise
    running = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    running.start()
    host, port = running.get_host_and_port()
    yield f"http://{host}:{port}"
    running.stop()


@pytest.fixture
def s3(server, monkeypatch):
    """An S3 client on the loopback server and a fresh bucket; credentials only in the environment, as
    a user's would be (the provider's usual chain)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", server)
    s3fs.S3FileSystem.clear_instance_cache()
    client = boto3.client("s3")
    bucket = f"logs-{os.urandom(4).hex()}"
    client.create_bucket(Bucket=bucket)
    client.bucket = bucket
    yield client
    s3fs.S3FileSystem.clear_instance_cache()


def lines(n, start=0):
    system = {"role": "system", "content": "You route support tickets. Answer with one category."}
    return [chat_line(messages=[system, {"role": "user", "content": f"ticket {i} is about a refund"}],
                      id=f"chatcmpl-{i}", ts=f"2026-10-{1 + i % 28:02d}T09:{i % 60:02d}:00Z", prompt_tokens=30)
            for i in range(start, start + n)]


def body(records, gz=False) -> bytes:
    text = "".join(json.dumps(r) + "\n" for r in records).encode()
    return gzip.compress(text, mtime=0) if gz else text


def put(s3, key, data: bytes) -> str:
    s3.put_object(Bucket=s3.bucket, Key=key, Body=data)
    return f"s3://{s3.bucket}/{key}"


def rows(db, sql):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


#: What a file's rows are, whatever the file is called.
REQUESTS = "SELECT * EXCLUDE (file) FROM requests ORDER BY request_id"
FILES = "SELECT records, stored, duplicates, rejected, pending, size, content_hash, lines_read, bytes_read FROM files"


def upload_tree(s3, root, prefix):
    for path in sorted(root.rglob("*")):
        if path.is_file():
            put(s3, f"{prefix}/{path.relative_to(root).as_posix()}", path.read_bytes())
    return f"s3://{s3.bucket}/{prefix}/"


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_prefix_in_s3_stores_the_rows_and_report_of_the_same_files_on_disk(tmp_path, s3, monkeypatch, jobs):
    logs = tmp_path / "logs"
    write_jsonl(logs / "a/day1.jsonl", [*lines(40), "{broken"])
    write_jsonl(logs / "a/day2.jsonl.gz", lines(30, start=40), gz=True)
    write_jsonl(logs / "b/one.json", lines(5, start=70))
    (logs / "b/notes.txt").write_text("not a log")
    prefix = upload_tree(s3, logs, "gateway")
    monkeypatch.setattr(ingesting, "PARALLEL_MIN_BYTES", 0)  # with jobs=2, spawned workers read the objects
    local = api.ingest([logs], db=str(tmp_path / "local.duckdb"), jobs=jobs)
    remote = api.ingest([prefix], db=str(tmp_path / "remote.duckdb"), jobs=jobs)
    assert [f.path for f in remote.files] == [f"{prefix}a/day1.jsonl", f"{prefix}a/day2.jsonl.gz", f"{prefix}b/one.json"]
    assert [(f.records, f.stored, f.rejected) for f in remote.files] == [
        (f.records, f.stored, f.rejected) for f in local.files] == [(41, 40, 1), (30, 30, 0), (5, 5, 0)]
    assert rows(tmp_path / "remote.duckdb", REQUESTS) == rows(tmp_path / "local.duckdb", REQUESTS)
    assert rows(tmp_path / "remote.duckdb", FILES) == rows(tmp_path / "local.duckdb", FILES)
    assert {r[0] for r in rows(tmp_path / "remote.duckdb", "SELECT DISTINCT file FROM requests")} == {
        f.path for f in remote.files}
    assert api.report(str(tmp_path / "remote.duckdb")).as_dict() == api.report(str(tmp_path / "local.duckdb")).as_dict()


def test_the_sample_logs_from_s3_give_the_same_report_through_the_cli(tmp_path, s3):
    prefix = upload_tree(s3, SAMPLE_LOGS, "sample")
    invoke(["ingest", str(SAMPLE_LOGS), "--db", str(tmp_path / "local.duckdb"), "--quiet"])
    invoke(["ingest", prefix, "--db", str(tmp_path / "remote.duckdb"), "--quiet"])
    local = json.loads(invoke(["report", "--db", str(tmp_path / "local.duckdb"), "--format", "json"]).stdout)
    remote = json.loads(invoke(["report", "--db", str(tmp_path / "remote.duckdb"), "--format", "json"]).stdout)
    assert remote == local and remote["overall"]


def test_an_unchanged_object_is_skipped_without_reading_a_byte_of_it(tmp_path, s3, monkeypatch):
    url = put(s3, "day.jsonl", body(lines(6)))
    api.ingest([url])
    [etag] = rows(storage.db_path(), "SELECT etag FROM files")[0]
    assert etag == s3.head_object(Bucket=s3.bucket, Key="day.jsonl")["ETag"]
    opened = []
    real = sources.open_binary
    monkeypatch.setattr(sources, "open_binary", lambda path, gunzip=False: (opened.append(path), real(path, gunzip))[1])
    again = api.ingest([url])
    assert [f.skipped for f in again.files] == [True] and opened == []


def test_an_object_that_grew_is_read_on_from_where_it_stopped(tmp_path, s3):
    url = put(s3, "live.jsonl", body(lines(4)))
    api.ingest([url])
    put(s3, "live.jsonl", body(lines(7)))  # the same 4 lines, then 3 more: uploaded again as a new version
    [f] = api.ingest([url]).files
    assert f.tail and (f.records, f.stored, f.rejected) == (3, 3, 0) and not f.warnings
    assert rows(storage.db_path(), "SELECT count(*), max(line) FROM requests") == [(7, 7)]
    assert rows(storage.db_path(), "SELECT records, lines_read, bytes_read FROM files") == [
        (7, 7, len(body(lines(7))))]


def test_a_gzip_object_that_grew_by_a_member_is_read_on_too(tmp_path, s3):
    url = put(s3, "live.jsonl.gz", body(lines(3), gz=True))
    api.ingest([url])
    put(s3, "live.jsonl.gz", body(lines(3), gz=True) + body(lines(2, start=3), gz=True))
    [f] = api.ingest([url]).files
    assert f.tail and (f.records, f.stored) == (2, 2)
    assert rows(storage.db_path(), "SELECT count(*), max(line) FROM requests") == [(5, 5)]


def test_an_object_whose_read_part_changed_is_read_again_whole_with_a_warning(tmp_path, s3):
    url = put(s3, "day.jsonl", body(lines(4)))
    api.ingest([url])
    put(s3, "day.jsonl", body(lines(5, start=100)))  # rewritten, not appended to
    [f] = api.ingest([url]).files
    assert not f.tail and (f.records, f.stored) == (5, 5) and "changed" in f.warnings[0]
    assert rows(storage.db_path(), "SELECT count(*), min(request_id) FROM requests") == [(5, "chatcmpl-100")]


def test_a_missing_bucket_or_object_is_a_reject_naming_it_and_the_run_goes_on(tmp_path, s3):
    good = put(s3, "day.jsonl", body(lines(3)))
    missing_object = f"s3://{s3.bucket}/no/such.jsonl"
    result = invoke(["ingest", "s3://no-such-bucket-here/logs/", missing_object, good])
    assert "s3://no-such-bucket-here/logs/" in result.output and "no such bucket" in result.output
    assert missing_object in result.output
    assert rows(storage.db_path(), "SELECT count(*) FROM requests") == [(3,)]
    rejects = dict(rows(storage.db_path(), "SELECT file, reason FROM rejects"))
    assert set(rejects) == {"s3://no-such-bucket-here/logs/", missing_object}
    assert all(r.startswith("cannot read object: no such bucket or object") for r in rejects.values())


def test_denied_access_is_a_reject_naming_the_object_and_the_run_goes_on(tmp_path, s3, server, monkeypatch):
    from moto.core.authorization import enable_iam_authentication

    denied = put(s3, "secret/day.jsonl", body(lines(3)))
    iam = boto3.client("iam")
    iam.create_user(UserName="reader")  # no policy: every S3 action is denied to it
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    s3fs.S3FileSystem.clear_instance_cache()
    local = write_jsonl(tmp_path / "local.jsonl", lines(2, start=50))
    with enable_iam_authentication():
        result = invoke(["ingest", denied, str(local)])
    assert denied in result.output and "access denied" in result.output
    assert rows(storage.db_path(), "SELECT count(*) FROM requests") == [(2,)]
    [(reason,)] = rows(storage.db_path(), f"SELECT reason FROM rejects WHERE file = '{denied}'")
    assert reason.startswith("cannot read object: access denied") and key["SecretAccessKey"] not in result.output


def test_no_credential_is_stored_or_printed(tmp_path, s3, server):
    """A run in a subprocess, as a user runs it: keys in the environment; a presigned https URL carries
    its key id and signature in its query string, which the name stored and shown leaves out."""
    put(s3, "p/day.jsonl.gz", body([*lines(5), "{broken"], gz=True))
    presigned = s3.generate_presigned_url("get_object", Params={"Bucket": s3.bucket, "Key": "p/day.jsonl.gz"})
    query = dict(parse_qsl(urlsplit(presigned).query))
    assert KEY_ID in presigned and any("Signature" in k for k in query)
    db = tmp_path / "run.duckdb"
    env = {**os.environ, "CROSSOVER_DB": str(db)}
    run = subprocess.run([sys.executable, "-m", "analyzer", "ingest", f"s3://{s3.bucket}/p/", presigned,
                          f"s3://{s3.bucket}/nothing/"], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    printed = run.stdout + run.stderr
    assert f"{server}/{s3.bucket}/p/day.jsonl.gz" in printed  # the https object, by its name without the query
    # Sorted by name: the https one (the s3 one's duplicates), the empty prefix, the s3 object.
    assert rows(db, "SELECT records, stored, rejected FROM files ORDER BY path") == [(6, 0, 1), (1, 0, 1), (6, 5, 1)]
    stored = table_dump(db) + db.read_bytes().decode("latin-1")
    for secret in (KEY_ID, SECRET, *[v for v in query.values() if len(v) >= 16], *[k for k in query if "Amz" in k]):
        assert secret not in printed and secret not in stored


def test_count_reads_one_request_from_an_object(s3):
    url = put(s3, "one.json", json.dumps(lines(1)[0]).encode())
    counted = json.loads(invoke(["count", url, "--format", "json"]).stdout)
    assert counted["prompt_tokens"] > 0 and counted["segments"]["system"] > 0


def test_names_leave_out_user_and_query_and_paths_stay_as_they_were():
    assert sources.name_of("https://user:pw@logs.example.com:8443/a/b.jsonl?sig=abc&sv=1") == (
        "https://logs.example.com:8443/a/b.jsonl")
    assert sources.name_of("s3://bucket/a/b.jsonl") == "s3://bucket/a/b.jsonl"
    assert sources.name_of("/var/log/x.jsonl") == "/var/log/x.jsonl"
    assert not sources.is_remote("file.jsonl") and not sources.is_remote("ftp://host/x.jsonl")
    assert sources.is_remote("GS://bucket/x") and sources.is_remote("az://container/x")
    assert isinstance(sources.as_path("logs/a.jsonl"), os.PathLike)
    assert str(sources.as_path("s3://b/k.jsonl")) == "s3://b/k.jsonl"


def test_a_backend_that_is_not_installed_says_which_extra_to_install():
    result = invoke(["ingest", "az://container/logs/"], code=2) if not _installed("adlfs") else None
    if result is None:
        pytest.skip("adlfs is installed here: no missing backend to report")
    assert "pip install 'crossover-analyzer[azure]'" in result.output


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None
