"""Buckets through the native API, the SDK (sync and async) and the CLI, against the session
cluster: bodies of a few MiB streamed in and out (ranges included), metadata and tags, listings
with a delimiter across pages and partitions, versions, copies, and the catalog's error
answers (unknown bucket, missing key, bad name, bad range, digests, a truncated body, a
bucket that is not empty)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import itertools
import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from aiohttp.test_utils import TestClient, TestServer

from raybus.cli.main import main as cli_main
from raybus.gateway import GatewayMetrics, build_app
from raybus.sdk import AsyncClient, Client, errors
from raybus.sdk.buckets import CommonPrefix, ObjectSummary
from tests.gateway.test_resources_api import FakeAdmin, FakeService

MIB = 1 << 20
_numbers = itertools.count()


@pytest.fixture
def bucket_name(request: pytest.FixtureRequest) -> str:
    """A bucket name unique in the session, within S3's rules."""
    base = re.sub(r"[^a-z0-9-]+", "-", request.node.name.lower()).strip("-")
    return f"b{next(_numbers)}-{base}"[:63].rstrip("-")


def _body(size: int) -> bytes:
    """``size`` bytes that differ at every offset (a misplaced range shows)."""
    block = hashlib.sha256(str(size).encode()).digest() * 2048  # 64 KiB
    return (block * (size // len(block) + 1))[:size]


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _code(answer: httpx.Response) -> str:
    return str(answer.json()["error"]["code"])


# -- the native routes -----------------------------------------------------------------------------
def test_an_object_streams_in_and_out_with_ranges_and_metadata(url: str, bucket_name: str) -> None:
    b = f"{url}/v1/buckets/{bucket_name}"
    created = httpx.put(b, json={"region": "eu-west-1"})
    assert created.status_code == 200, created.text
    assert created.json()["created"] is True
    assert created.json()["bucket"]["region"] == "eu-west-1"
    data = _body(3 * MIB + 12_345)

    def chunks() -> Iterator[bytes]:  # sent chunked: no Content-Length, streamed
        view = memoryview(data)
        for start in range(0, len(data), 256 * 1024):
            yield bytes(view[start : start + 256 * 1024])

    md5 = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
    put = httpx.put(
        f"{b}/objects/photos/2024/cat.bin",
        content=chunks(),
        headers={"Content-Type": "image/x-cat", "Content-MD5": md5,
                 "x-raybus-meta-Owner": "ada", "x-raybus-meta-colour": "tabby",
                 "x-raybus-tagging": "kind=cat&year=2024", "Cache-Control": "max-age=60",
                 "Accept": "application/json"},
    )  # fmt: skip
    assert put.status_code == 200, put.text
    assert put.json() == {"key": "photos/2024/cat.bin", "etag": _md5(data), "size": len(data),
                          "version_id": None}  # fmt: skip
    assert put.headers["ETag"] == f'"{_md5(data)}"'

    with httpx.stream("GET", f"{b}/objects/photos/2024/cat.bin") as whole:  # streamed back
        assert whole.status_code == 200
        received = b"".join(whole.iter_bytes())
        headers = whole.headers
    assert received == data
    assert headers["Content-Type"] == "image/x-cat"
    assert headers["Content-Length"] == str(len(data))
    assert headers["ETag"] == f'"{_md5(data)}"'
    assert headers["Cache-Control"] == "max-age=60"
    assert headers["x-raybus-meta-owner"] == "ada" and headers["x-raybus-meta-colour"] == "tabby"
    assert headers["x-raybus-tagging-count"] == "2"
    assert headers["Last-Modified"].endswith(" GMT")

    # a range across the 1 MiB read chunks and partway through; a suffix; an open end
    for spec, start, end in (
        (f"bytes={MIB - 5}-{2 * MIB + 6}", MIB - 5, 2 * MIB + 7),
        ("bytes=-100", len(data) - 100, len(data)),
        (f"bytes={3 * MIB}-", 3 * MIB, len(data)),
    ):
        part = httpx.get(f"{b}/objects/photos%2F2024%2Fcat.bin", headers={"Range": spec})
        assert part.status_code == 206, spec
        assert part.content == data[start:end], spec
        assert part.headers["Content-Range"] == f"bytes {start}-{end - 1}/{len(data)}"
    assert httpx.get(f"{b}/objects/photos/2024/cat.bin",
                     headers={"Range": "bytes=0-1,5-6"}).status_code == 200  # fmt: skip
    bad = httpx.get(f"{b}/objects/photos/2024/cat.bin", headers={"Range": f"bytes={len(data)}-"})
    assert (bad.status_code, _code(bad)) == (416, "InvalidRange")

    head = httpx.head(f"{b}/objects/photos/2024/cat.bin")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Length"] == str(len(data))
    assert head.headers["x-raybus-meta-owner"] == "ada"
    etag = head.headers["ETag"]
    assert httpx.get(f"{b}/objects/photos/2024/cat.bin",
                     headers={"If-None-Match": etag}).status_code == 304  # fmt: skip
    refused = httpx.put(f"{b}/objects/photos/2024/cat.bin", content=b"x",
                        headers={"If-None-Match": "*"})  # fmt: skip
    assert (refused.status_code, _code(refused)) == (412, "PreconditionFailed")

    described = httpx.get(b).json()
    assert described["bucket"]["name"] == bucket_name
    assert described["stats"]["objects"] == 1 and described["stats"]["bytes"] == len(data)
    assert bucket_name in [x["name"] for x in httpx.get(f"{url}/v1/buckets").json()["buckets"]]

    not_empty = httpx.delete(b)
    assert (not_empty.status_code, _code(not_empty)) == (409, "BucketNotEmpty")
    gone = httpx.delete(f"{b}/objects/photos/2024/cat.bin")
    assert gone.json() == {"delete_marker": False, "version_id": None}
    assert httpx.delete(b).status_code == 200
    assert _code(httpx.get(b)) == "NoSuchBucket"


def test_listing_with_a_delimiter_follows_pages_across_partitions(
    url: str, bucket_name: str
) -> None:
    b = f"{url}/v1/buckets/{bucket_name}"
    assert httpx.put(b, json={"partitions": 3}).json()["bucket"]["partitions"] == 3
    keys = ["a.txt", "docs/1", "docs/2", "docs/sub/3", "img/x.png", "img/y.png", "notes",
            "zeta/deep/1", "zz"]  # fmt: skip
    for key in keys:
        assert httpx.put(f"{b}/objects/{key}", content=key.encode()).status_code == 200
    seen: list[str] = []
    prefixes: list[str] = []
    marker = ""
    pages = 0
    while True:
        params = {"delimiter": "/", "limit": "2", **({"marker": marker} if marker else {})}
        page = httpx.get(f"{b}/objects", params=params).json()
        pages += 1
        assert len(page["objects"]) + len(page["prefixes"]) <= 2
        seen += [o["key"] for o in page["objects"]]
        prefixes += page["prefixes"]
        if page["next_marker"] is None:
            break
        marker = page["next_marker"]
    assert seen == ["a.txt", "notes", "zz"]
    assert prefixes == ["docs/", "img/", "zeta/"]
    assert pages == 3
    docs = httpx.get(f"{b}/objects", params={"prefix": "docs/"}).json()
    assert [o["key"] for o in docs["objects"]] == ["docs/1", "docs/2", "docs/sub/3"]
    assert docs["objects"][0]["etag"] == _md5(b"docs/1") and docs["objects"][0]["size"] == 6
    assert docs["next_marker"] is None
    for key in keys:
        httpx.delete(f"{b}/objects/{key}")
    assert httpx.delete(b).status_code == 200


def test_bad_requests_get_their_catalog_codes(url: str, bucket_name: str) -> None:
    b = f"{url}/v1/buckets/{bucket_name}"
    cases: list[tuple[httpx.Response, int, str]] = [
        (httpx.put(f"{url}/v1/buckets/Bad_Name"), 400, "InvalidBucketName"),
        (httpx.put(f"{url}/v1/buckets/ab"), 400, "InvalidBucketName"),
        (httpx.get(f"{b}/objects"), 404, "NoSuchBucket"),
        (httpx.put(f"{b}/objects/k", content=b"x"), 404, "NoSuchBucket"),
    ]
    httpx.put(b)
    cases += [
        (httpx.get(f"{b}/objects/missing"), 404, "NoSuchKey"),
        (httpx.put(f"{b}/objects/k", content=b"abc",
                   headers={"Content-MD5": base64.b64encode(b"0" * 16).decode()}),
         400, "BadDigest"),
        (httpx.put(f"{b}/objects/k", content=b"abc", headers={"Content-MD5": "nope"}),
         400, "InvalidDigest"),
        (httpx.put(f"{b}/objects/k", content=b"abc",
                   headers={"x-raybus-meta-big": "x" * 3000}), 400, "MetadataTooLarge"),
        (httpx.put(f"{b}/objects/k", content=b"abc", headers={"x-raybus-tagging": "a=1&a=2"}),
         400, "InvalidTag"),
        (httpx.put(f"{b}/objects/{'k' * 1025}", content=b"abc"), 400, "KeyTooLongError"),
        (httpx.get(f"{b}/objects", params={"limit": "1001"}), 400, "InvalidParameterValue"),
        (httpx.get(f"{b}/objects", params={"colour": "red"}), 400, "InvalidParameterValue"),
        (httpx.patch(b, json={"colour": "red"}), 400, "InvalidParameterValue"),
        (httpx.patch(b, json={"versioning": "Maybe"}), 400, "MalformedXML"),
        (httpx.put(b, json={"region": "eu-west-1"}), 409, "BucketAlreadyOwnedByYou"),
        (httpx.put(b, json={"region": 5}), 400, "InvalidParameterValue"),
        (httpx.patch(b, json={"tags": ["a"]}), 400, "InvalidParameterValue"),
        (httpx.patch(b, json={"lifecycle": {"Rules": 5}}), 400, "MalformedXML"),
        (httpx.post(f"{b}/copy", json={"key": "k"}), 400, "MissingParameter"),
        (httpx.post(f"{b}/copy", json={"key": "k", "source": {"key": "s"}, "metadata": [1]}),
         400, "InvalidParameterValue"),
        (httpx.post(f"{b}/copy", json={"key": "k", "source": {"key": "s"}}), 404, "NoSuchKey"),
        (httpx.post(f"{b}/copy", json={"key": "k", "source": {"key": "k"}}), 400,
         "InvalidRequest"),
        (httpx.get(f"{b}/objects/k", params={"versionId": "AAAAAAAAAAAAAAAAAAAAAA"}),
         404, "NoSuchVersion"),
    ]  # fmt: skip
    for answer, status, code in cases:
        assert (answer.status_code, _code(answer)) == (status, code), answer.request.url
    head = httpx.head(f"{b}/objects/missing")  # no body: the code is in a header
    assert (head.status_code, head.headers["x-raybus-error-code"]) == (404, "NoSuchKey")
    # an empty object, then a range of it
    assert httpx.put(f"{b}/objects/empty", content=b"").json()["etag"] == _md5(b"")
    assert httpx.get(f"{b}/objects/empty").content == b""
    assert _code(httpx.get(f"{b}/objects/empty", headers={"Range": "bytes=0-"})) == "InvalidRange"
    httpx.delete(f"{b}/objects/empty")
    assert httpx.get(f"{b}/objects").json()["objects"] == []  # nothing refused was stored
    assert httpx.delete(b).status_code == 200


def test_a_truncated_upload_stores_nothing(url: str, bucket_name: str) -> None:
    httpx.put(f"{url}/v1/buckets/{bucket_name}")
    where = urlsplit(url)
    with socket.create_connection((where.hostname, where.port), timeout=10) as sock:
        sock.sendall(
            f"PUT /v1/buckets/{bucket_name}/objects/cut HTTP/1.1\r\nHost: x\r\n"
            "Content-Length: 100000\r\nAccept: application/json\r\n\r\n".encode()
            + b"x" * 1000
        )
        sock.shutdown(socket.SHUT_WR)  # the client gives up mid-body
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer == b""  # the connection was lost: nobody to answer
    assert httpx.get(f"{url}/v1/buckets/{bucket_name}/objects").json()["objects"] == []
    assert httpx.delete(f"{url}/v1/buckets/{bucket_name}").status_code == 200


def test_a_gateway_without_the_object_store_says_so() -> None:
    """The standalone Gateway actor serves no objects (it has no data directory)."""
    app = build_app(FakeService(), FakeAdmin(), GatewayMetrics(), token=None)  # type: ignore[arg-type]

    async def ask() -> list[tuple[int, str]]:
        async with TestClient(TestServer(app)) as http:
            answers = [
                await http.put("/v1/buckets/photos/objects/k", data=b"x"),
                await http.get("/v1/buckets/photos/objects/k"),
                await http.get("/v1/buckets/photos/objects"),
            ]
            return [(a.status, (await a.json())["error"]["code"]) for a in answers]

    assert asyncio.run(ask()) == [(400, "UnsupportedOperation")] * 3


# -- the SDK ---------------------------------------------------------------------------------------
def test_the_sdk_streams_objects_and_manages_buckets(
    client: Client, bucket_name: str, tmp_path: Path
) -> None:
    bucket = client.bucket(bucket_name).create()
    assert bucket.config["name"] == bucket_name and bucket.arn.endswith(f":::{bucket_name}")
    data = _body(2 * MIB + 7)
    written = bucket.put("data/blob.bin", data, content_type="application/x-blob",
                         metadata={"origin": "test"}, tags={"t": "1"})  # fmt: skip
    assert (written.etag, written.size, written.version_id) == (_md5(data), len(data), None)
    source = tmp_path / "source.bin"
    source.write_bytes(data[::-1])
    with source.open("rb") as file:  # read in chunks as it is sent
        assert bucket.put("data/file.bin", file).etag == _md5(data[::-1])
    pieces = [data[i : i + 100_000] for i in range(0, MIB, 100_000)]
    streamed = bucket.put("data/gen.bin", iter(pieces))  # sent chunked, once
    assert (streamed.size, streamed.etag) == (sum(map(len, pieces)), _md5(b"".join(pieces)))
    assert bucket.put("text.txt", "héllo").size == len("héllo".encode())

    assert bucket.get("data/blob.bin") == data
    assert bucket.get("data/blob.bin", start=10, end=20) == data[10:20]
    chunks = list(bucket.stream("data/blob.bin", chunk_size=64 * 1024))
    assert b"".join(chunks) == data and max(len(c) for c in chunks) <= 64 * 1024
    info = bucket.download("data/file.bin", tmp_path / "copy.bin")
    assert (tmp_path / "copy.bin").read_bytes() == data[::-1]
    assert not (tmp_path / "copy.bin.part").exists()
    assert (info.size, info.content_type) == (len(data), "application/octet-stream")
    head = bucket.head("data/blob.bin")
    assert (head.size, head.etag) == (len(data), _md5(data))
    assert head.content_type == "application/x-blob"
    assert head.metadata == {"origin": "test"} and head.tag_count == 1
    assert head.modified_ms > 0

    copied = bucket.copy("copy.bin", "data/blob.bin", metadata={"origin": "copy"})
    assert copied.etag == _md5(data)
    assert bucket.head("copy.bin").metadata == {"origin": "copy"}
    assert bucket.head("copy.bin").content_type == "application/x-blob"

    items = list(bucket.list(delimiter="/", page_size=1))
    assert [(type(i).__name__, getattr(i, "key", getattr(i, "prefix", ""))) for i in items] == [
        ("ObjectSummary", "copy.bin"),
        ("CommonPrefix", "data/"),
        ("ObjectSummary", "text.txt"),
    ]
    summary = items[2]
    assert isinstance(summary, ObjectSummary)
    assert (summary.size, summary.etag) == (6, _md5("héllo".encode()))
    assert [getattr(s, "key", None) for s in bucket.list("data/")] == [
        "data/blob.bin", "data/file.bin", "data/gen.bin"]  # fmt: skip
    page = bucket.list_page("data/", limit=2)
    assert len(page.objects) == 2 and page.next_marker == "data/file.bin"

    with pytest.raises(errors.NoSuchKey):
        bucket.get("missing")
    with pytest.raises(errors.NoSuchKey):
        bucket.head("missing")
    with pytest.raises(errors.InvalidRange):
        bucket.get("text.txt", start=100)
    with pytest.raises(errors.NoSuchBucket):
        client.bucket("no-such-bucket-here").get("k")
    with pytest.raises(errors.InvalidBucketName):
        client.bucket("Not_A_Bucket").create()
    with pytest.raises(errors.BucketNotEmpty):
        bucket.delete()
    described = bucket.describe()
    assert described.stats["objects"] == 5 and described.config["name"] == bucket_name
    odd = "odd key/ä ?#%&+.txt"  # percent-encoded whole on the way
    assert bucket.put(odd, b"odd").key == odd
    assert bucket.get(odd) == b"odd" and bucket.head(odd).key == odd
    assert odd in [getattr(i, "key", None) for i in bucket.list("odd key/")]
    assert bucket.update(tags={"a": "b"})["tags"] == {"a": "b"}
    assert bucket.update(tags=None)["tags"] == {}
    with pytest.raises(errors.InvalidParameterValue):
        bucket.put("k", b"x", metadata={"name": "ä"})  # HTTP headers are ASCII
    bucket.delete_object(odd)
    assert bucket_name in [b.name for b in client.buckets(bucket_name[:3])]

    for key in ("copy.bin", "text.txt", "data/blob.bin", "data/file.bin", "data/gen.bin"):
        assert bucket.delete_object(key).delete_marker is False
    bucket.delete()
    assert bucket_name not in [b.name for b in client.buckets()]


def test_versions_through_the_sdk(client: Client, bucket_name: str) -> None:
    bucket = client.bucket(bucket_name).create()
    assert bucket.update(versioning="Enabled", tags={"team": "data"})["versioning"] == "Enabled"
    assert bucket.config["tags"] == {"team": "data"}
    first = bucket.put("k", b"one")
    second = bucket.put("k", b"two")
    assert first.version_id and second.version_id and first.version_id != second.version_id
    assert bucket.get("k") == b"two"
    assert bucket.get("k", version_id=first.version_id) == b"one"
    assert bucket.head("k").version_id == second.version_id
    marker = bucket.delete_object("k")
    assert marker.delete_marker and marker.version_id
    with pytest.raises(errors.NoSuchKey):
        bucket.get("k")
    with pytest.raises(errors.BucketNotEmpty):
        bucket.delete()  # the versions and the marker are still there
    for version in (first.version_id, second.version_id, marker.version_id):
        bucket.delete_object("k", version_id=version)
    bucket.delete()


def test_the_async_sdk_streams_objects(url: str, bucket_name: str) -> None:
    data = _body(MIB + 3)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 300_000):
            yield data[start : start + 300_000]
            await asyncio.sleep(0)

    async def scenario() -> None:
        async with AsyncClient(url, max_retries=3) as aclient:
            bucket = await aclient.bucket(bucket_name).create()
            assert (await bucket.put("a/b", chunks())).etag == _md5(data)
            assert (await bucket.put("c", io.BytesIO(data))).size == len(data)
            assert await bucket.get("a/b") == data
            assert await bucket.get("c", start=MIB) == data[MIB:]
            received = [c async for c in await bucket.stream("a/b", chunk_size=100_000)]
            assert b"".join(received) == data
            head = await bucket.head("a/b")
            assert (head.size, head.etag) == (len(data), _md5(data))
            listed = [item async for item in bucket.list(delimiter="/")]
            assert listed[0] == CommonPrefix("a/") and isinstance(listed[1], ObjectSummary)
            assert bucket_name in [b.name for b in await aclient.buckets()]
            with pytest.raises(errors.NoSuchKey):
                await bucket.head("nope")
            for key in ("a/b", "c"):
                await bucket.delete_object(key)
            await bucket.delete()

    asyncio.run(scenario())


# -- the CLI ---------------------------------------------------------------------------------------
def _raybus(
    url: str,
    capsysbinary: pytest.CaptureFixture[bytes],
    *argv: str,
    stdin: bytes | None = None,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[int, bytes, str]:
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    code = cli_main(["bucket", *argv, "--url", url])
    out, err = capsysbinary.readouterr()
    return code, out, err.decode()


def test_the_bucket_cli_moves_files_in_and_out(
    url: str,
    bucket_name: str,
    tmp_path: Path,
    capsysbinary: pytest.CaptureFixture[bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def run(*argv: str, stdin: bytes | None = None) -> tuple[int, bytes, str]:
        return _raybus(url, capsysbinary, *argv, stdin=stdin, monkeypatch=monkeypatch)

    code, out, err = run("create", bucket_name)
    assert code == 0, err
    assert json.loads(out)["name"] == bucket_name
    data = _body(MIB + 11)
    (tmp_path / "photo.png").write_bytes(data)
    code, out, err = run("put", bucket_name, "img/photo.png", str(tmp_path / "photo.png"),
                         "--metadata", "by=cli", "--tag", "k=v")  # fmt: skip
    assert code == 0, err
    assert json.loads(out) == {"key": "img/photo.png", "etag": _md5(data), "size": len(data),
                               "version_id": None}  # fmt: skip
    assert run("put", bucket_name, "notes.txt", "-", stdin=b"from stdin\n")[0] == 0
    code, out, _ = run("get", bucket_name, "img/photo.png", str(tmp_path / "back.png"))
    assert code == 0 and (tmp_path / "back.png").read_bytes() == data
    info = json.loads(out)
    assert info["content_type"] == "image/png" and info["metadata"] == {"by": "cli"}
    assert run("get", bucket_name, "notes.txt", "-")[1] == b"from stdin\n"
    code, out, _ = run("ls", bucket_name, "--delimiter", "/")
    lines = [json.loads(line) for line in out.decode().splitlines()]
    assert lines[0] == {"prefix": "img/"} and lines[1]["key"] == "notes.txt"
    assert bucket_name in run("list")[1].decode().split()
    assert json.loads(run("describe", bucket_name)[1])["stats"]["objects"] == 2
    code, _, err = run("delete", bucket_name)
    assert code == 2 and err.startswith("error: BucketNotEmpty:")
    code, _, err = run("get", bucket_name, "missing", str(tmp_path / "missing"))
    assert code == 2 and err.startswith("error: NoSuchKey:")
    assert not (tmp_path / "missing").exists() and not (tmp_path / "missing.part").exists()
    for key in ("img/photo.png", "notes.txt"):
        code, out, _ = run("rm", bucket_name, key)
        assert code == 0 and json.loads(out) == {"delete_marker": False, "version_id": None}
    assert run("delete", bucket_name)[0] == 0


def test_the_raybus_command_has_the_bucket_verb(url: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "raybus.cli", "bucket", "describe", "no-such-bucket", "--url", url],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "RAYBUS_TOKEN": ""},
    )
    assert done.returncode == 2 and done.stderr.startswith("error: NoSuchBucket:"), done.stderr
