"""Third-party S3 clients against the session's cluster (tests/integration/conftest.py), pointed
at it as a user points them: the ``minio`` Python client (path-style requests, SigV4 with the
payload's SHA-256, its own multipart for a stream of unknown length, SigV4 presigned URLs) and
the ``aws s3`` commands of the ``aws`` CLI (multipart uploads and ranged parallel downloads over
8 MB, ``sync`` both ways, recursive removal)."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import os
import re
import subprocess
import sys
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from minio import Minio
from minio.error import S3Error

from tests.integration.aws.conftest import REGION
from tests.integration.conftest import AWS_ACCESS_KEY, AWS_SECRET_KEY

MiB = 1 << 20
_buckets = itertools.count()


@pytest.fixture
def bucket_name(request: pytest.FixtureRequest) -> str:
    """A bucket name unique in the session (S3's rules: lower case, digits, hyphens), not yet
    created: each client makes its own."""
    stem = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40]
    return f"c{next(_buckets)}-{stem}"[:63].rstrip("-")


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


# -- minio ----------------------------------------------------------------------------------------
def minio_for(url: str, secret: str = AWS_SECRET_KEY) -> Minio:
    """A minio client for the cluster at ``url`` (``host:port``, plain HTTP, the region given
    so minio asks no GetBucketLocation first)."""
    endpoint = url.removeprefix("http://").rstrip("/")
    return Minio(endpoint, access_key=AWS_ACCESS_KEY, secret_key=secret, secure=False,
                 region=REGION)  # fmt: skip


@pytest.fixture
def minio_client(url: str) -> Minio:
    return minio_for(url)


def minio_read(client: Minio, bucket: str, key: str, offset: int = 0, length: int = 0) -> bytes:
    answer = client.get_object(bucket, key, offset=offset, length=length)
    try:
        return answer.read()
    finally:
        answer.close()
        answer.release_conn()


def test_the_minio_client_makes_puts_lists_reads_and_removes(
    minio_client: Minio, bucket_name: str
) -> None:
    mc, bucket = minio_client, bucket_name
    assert mc.bucket_exists(bucket) is False
    mc.make_bucket(bucket)
    assert mc.bucket_exists(bucket) is True

    small = b"hello from minio\n"
    written = mc.put_object(
        bucket, "docs/a.txt", io.BytesIO(small), len(small),
        content_type="text/plain", metadata={"owner": "ana"},
    )  # fmt: skip
    assert written.etag == md5_hex(small)
    mc.put_object(bucket, "docs/sub/b.txt", io.BytesIO(b"b"), 1)

    # a stream of unknown length: minio cuts it into 5 MiB parts (5 + 5 + 2 MiB)
    big = os.urandom(12 * MiB)
    streamed = mc.put_object(bucket, "big.bin", io.BytesIO(big), -1, part_size=5 * MiB)
    parts = [big[i : i + 5 * MiB] for i in range(0, len(big), 5 * MiB)]
    multipart_etag = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    assert streamed.etag == f"{multipart_etag}-3"

    everything = list(mc.list_objects(bucket, recursive=True))
    assert [o.object_name for o in everything] == ["big.bin", "docs/a.txt", "docs/sub/b.txt"]
    sizes = {o.object_name: o.size for o in everything}
    assert sizes == {"big.bin": len(big), "docs/a.txt": len(small), "docs/sub/b.txt": 1}
    assert {o.object_name: o.etag for o in everything}["docs/a.txt"] == md5_hex(small)
    top = list(mc.list_objects(bucket))
    assert [(o.object_name, o.is_dir) for o in top] == [("big.bin", False), ("docs/", True)]
    under = list(mc.list_objects(bucket, prefix="docs/"))
    assert [(o.object_name, o.is_dir) for o in under] == [
        ("docs/a.txt", False), ("docs/sub/", True),
    ]  # fmt: skip
    deep = list(mc.list_objects(bucket, prefix="docs/", recursive=True))
    assert [o.object_name for o in deep] == ["docs/a.txt", "docs/sub/b.txt"]

    assert minio_read(mc, bucket, "docs/a.txt") == small
    assert hashlib.sha256(minio_read(mc, bucket, "big.bin")).digest() == (
        hashlib.sha256(big).digest()
    )
    assert (
        minio_read(mc, bucket, "big.bin", offset=6 * MiB, length=100)
        == (big[6 * MiB : 6 * MiB + 100])
    )

    stat = mc.stat_object(bucket, "docs/a.txt")
    assert (stat.size, stat.etag, stat.content_type) == (len(small), md5_hex(small), "text/plain")
    assert stat.metadata is not None and stat.metadata["x-amz-meta-owner"] == "ana"
    assert stat.last_modified is not None
    assert mc.stat_object(bucket, "big.bin").etag == f"{multipart_etag}-3"

    link = mc.presigned_get_object(bucket, "docs/a.txt", expires=timedelta(minutes=5))
    assert "X-Amz-Signature=" in link
    with urllib.request.urlopen(link, timeout=10) as answer:
        assert answer.read() == small

    mc.remove_object(bucket, "docs/a.txt")
    with pytest.raises(S3Error) as gone:
        mc.stat_object(bucket, "docs/a.txt")
    assert gone.value.code == "NoSuchKey"
    with pytest.raises(S3Error) as missing:
        minio_read(mc, bucket, "docs/a.txt")
    assert missing.value.code == "NoSuchKey"
    mc.remove_object(bucket, "docs/a.txt")  # removing what is not there succeeds, as on S3
    assert [o.object_name for o in mc.list_objects(bucket, recursive=True)] == [
        "big.bin", "docs/sub/b.txt",
    ]  # fmt: skip

    with pytest.raises(S3Error) as full:
        mc.remove_bucket(bucket)
    assert full.value.code == "BucketNotEmpty"
    for key in ("big.bin", "docs/sub/b.txt"):
        mc.remove_object(bucket, key)
    mc.remove_bucket(bucket)
    assert mc.bucket_exists(bucket) is False


def test_the_minio_client_sees_s3_errors(url: str, minio_client: Minio, bucket_name: str) -> None:
    with pytest.raises(S3Error) as no_bucket:
        list(minio_client.list_objects(bucket_name))
    assert no_bucket.value.code == "NoSuchBucket"
    with pytest.raises(S3Error) as no_key:
        minio_client.stat_object(bucket_name, "k")
    assert no_key.value.code in ("NoSuchBucket", "NoSuchKey")  # HEAD has no body to tell
    wrong = minio_for(url, secret=AWS_SECRET_KEY + "x")
    with pytest.raises(S3Error) as refused:
        wrong.make_bucket(bucket_name)
    assert refused.value.code == "SignatureDoesNotMatch"
    assert minio_client.bucket_exists(bucket_name) is False


# -- the aws CLI ----------------------------------------------------------------------------------
def aws_s3(url: str, home: Path, *args: str) -> str:
    """Run the ``aws`` CLI installed beside this Python as a user would (credentials in the
    environment, ``--endpoint-url``); its standard output (``aws s3`` prints text)."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "AWS_ACCESS_KEY_ID": AWS_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": AWS_SECRET_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
    }
    aws = Path(sys.executable).with_name("aws")
    done = subprocess.run(
        [str(aws), "--endpoint-url", url, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=home,
    )
    assert done.returncode == 0, f"aws {' '.join(args)}: {done.stderr}"
    return done.stdout


def aws_json(url: str, home: Path, *args: str) -> Any:
    """An ``aws`` command's JSON answer (``s3api`` commands), parsed."""
    return json.loads(aws_s3(url, home, "--output", "json", *args))


def listed_names(text: str) -> list[str]:
    """The last column of ``aws s3 ls`` lines (a name, or ``PRE prefix/``'s prefix)."""
    return [line.split()[-1] for line in text.splitlines() if line.strip()]


def reported(text: str) -> list[str]:
    """The lines ``aws s3`` prints for what it did (``upload: a to s3://b/a``), without its
    progress lines (``Completed 1 file(s) ...``, which it prints even to a pipe)."""
    return [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.startswith("Completed ")
    ]


def make_tree(root: Path) -> dict[str, bytes]:
    files = {
        "a.txt": b"alpha\n",
        "sub/b.txt": b"bravo\n" * 100,
        "sub/deeper/c.bin": os.urandom(70_000),
    }
    for relative, data in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        # older than any object's LastModified: the session's virtual clock (which stamps
        # LastModified) started when the session did and may lag this file's real mtime, which
        # sync would read as "the local file is newer"
        os.utime(path, (1_600_000_000, 1_600_000_000))
    return files


def read_tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_the_aws_s3_commands(url: str, bucket_name: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    bucket, target = bucket_name, f"s3://{bucket_name}"

    def aws(*args: str) -> str:
        return aws_s3(url, home, *args)

    assert aws("s3", "mb", target).strip() == f"make_bucket: {bucket}"
    assert bucket in listed_names(aws("s3", "ls"))

    small = tmp_path / "small.txt"
    small.write_bytes(b"a small file\n")
    big = tmp_path / "big.bin"
    big_data = os.urandom(9 * MiB)  # over the CLI's 8 MB threshold: two 8 MiB-chunk parts
    big.write_bytes(big_data)
    aws("s3", "cp", str(small), f"{target}/docs/small.txt")
    aws("s3", "cp", str(big), f"{target}/big.bin")

    head = aws_json(url, home, "s3api", "head-object", "--bucket", bucket, "--key", "big.bin")
    assert head["ContentLength"] == len(big_data)
    assert head["ETag"].endswith('-2"')
    small_head = aws_json(
        url, home, "s3api", "head-object", "--bucket", bucket, "--key", "docs/small.txt"
    )
    assert small_head["ETag"] == f'"{md5_hex(small.read_bytes())}"'

    down = tmp_path / "down"
    down.mkdir()
    aws("s3", "cp", f"{target}/big.bin", str(down / "big.bin"))  # ranged parallel GETs
    assert hashlib.sha256((down / "big.bin").read_bytes()).digest() == (
        hashlib.sha256(big_data).digest()
    )
    aws("s3", "cp", f"{target}/docs/small.txt", str(down / "small.txt"))
    assert (down / "small.txt").read_bytes() == small.read_bytes()

    assert listed_names(aws("s3", "ls", f"{target}/")) == ["docs/", "big.bin"]
    assert listed_names(aws("s3", "ls", f"{target}/docs/")) == ["small.txt"]
    assert listed_names(aws("s3", "ls", f"{target}/do")) == ["docs/"]  # a bare prefix
    recursive = aws("s3", "ls", "--recursive", target)
    assert listed_names(recursive) == ["big.bin", "docs/small.txt"]
    assert f" {len(big_data)} big.bin" in recursive

    tree = tmp_path / "tree"
    files = make_tree(tree)
    uploaded = reported(aws("s3", "sync", str(tree), f"{target}/tree"))
    assert sorted(line.split()[-1] for line in uploaded) == [
        f"{target}/tree/{name}" for name in sorted(files)
    ]
    assert all(line.startswith("upload: ") for line in uploaded)
    assert reported(aws("s3", "sync", str(tree), f"{target}/tree")) == []  # nothing changed
    back = tmp_path / "back"
    downloaded = reported(aws("s3", "sync", f"{target}/tree", str(back)))
    assert [line.split()[0] for line in downloaded] == ["download:"] * 3
    assert read_tree(back) == files
    assert reported(aws("s3", "sync", f"{target}/tree", str(back))) == []
    (tree / "sub" / "b.txt").write_bytes(b"changed\n")  # a new size: sync sends just this one
    again = reported(aws("s3", "sync", str(tree), f"{target}/tree"))
    assert [line.split()[-1] for line in again] == [f"{target}/tree/sub/b.txt"]

    removed = reported(aws("s3", "rm", "--recursive", f"{target}/tree"))
    assert sorted(line.split()[-1] for line in removed) == [
        f"{target}/tree/{name}" for name in sorted(files)
    ]
    assert len(reported(aws("s3", "rm", "--recursive", target))) == 2
    assert aws("s3", "ls", "--recursive", target).strip() == ""
    assert aws("s3", "rb", target).strip() == f"remove_bucket: {bucket}"
    assert bucket not in listed_names(aws("s3", "ls"))
