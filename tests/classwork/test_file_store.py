"""One contract for the files port, run against the local disk and an S3-compatible
server. The S3 server here is moto's ``ThreadedMotoServer``: an emulator of the S3 HTTP
API running in this process, not AWS; the adapter talks real HTTP to it with boto3."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from preau.adapters.files.local import LocalFileStore
from preau.adapters.files.s3 import S3FileStore
from preau.ports import FileStore
from tests.classwork.conftest import PDF, Api, Clock, post_homework
from tests.helpers import PASSWORD, api_token, build_world, make_settings, running_app

BUCKET = "preau-test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    import boto3

    client = boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",  # the emulator accepts any key
    )
    client.create_bucket(Bucket=BUCKET)
    client.close()
    yield endpoint
    server.stop()


def s3_store(endpoint: str) -> S3FileStore:
    return S3FileStore(
        bucket=BUCKET,
        endpoint_url=endpoint,
        region="us-east-1",
        access_key="test",
        secret_key="test",
    )


@pytest.fixture(params=["local", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[FileStore]:
    found: FileStore
    if request.param == "local":
        found = LocalFileStore(tmp_path / "files")
    else:
        found = s3_store(request.getfixturevalue("s3_endpoint"))
    yield found
    await found.close()


async def read_all(store: FileStore, key: str) -> bytes:
    return b"".join([chunk async for chunk in store.open(key)])


async def test_put_then_read_back_in_chunks(store: FileStore) -> None:
    data = bytes(range(256)) * 3000  # several chunks
    await store.put("f/ab/abcdef", data, content_type="application/octet-stream")
    assert await read_all(store, "f/ab/abcdef") == data


async def test_a_file_stored_from_disk_is_read_by_ranges(store: FileStore, tmp_path: Path) -> None:
    data = bytes(range(256)) * 5000  # 1.28 MB: several chunks
    source = tmp_path / "video.mp4"
    source.write_bytes(data)
    await store.put_path("v/ra/range", source, content_type="video/mp4")
    assert await store.size("v/ra/range") == len(data)
    for start, end in ((0, 0), (10, 1000), (300_000, 600_000), (len(data) - 5, len(data) - 1)):
        got = b"".join([chunk async for chunk in store.open_range("v/ra/range", start, end)])
        assert got == data[start : end + 1]
    with pytest.raises(FileNotFoundError):
        await store.size("v/no/nothing-here")


async def test_a_missing_file_is_file_not_found(store: FileStore) -> None:
    with pytest.raises(FileNotFoundError):
        await read_all(store, "f/no/nothing-here")


async def test_delete_is_idempotent(store: FileStore) -> None:
    await store.put("f/de/delete-me", b"x", content_type="text/plain")
    await store.delete("f/de/delete-me")
    await store.delete("f/de/delete-me")
    with pytest.raises(FileNotFoundError):
        await read_all(store, "f/de/delete-me")


async def test_signed_urls_carry_the_download_headers(store: FileStore) -> None:
    await store.put("f/si/signed", PDF, content_type="application/pdf")
    url = await store.signed_url(
        "f/si/signed", filename="Fiche n°1.pdf", content_type="application/pdf", expires_seconds=60
    )
    if isinstance(store, LocalFileStore):
        assert url is None  # the app streams local files itself
        return
    assert url is not None
    async with httpx.AsyncClient() as client:
        response = await client.get(url)
    assert response.status_code == 200
    assert response.content == PDF
    assert response.headers["content-type"] == "application/pdf"
    assert "filename*=UTF-8''Fiche%20n%C2%B01.pdf" in response.headers["content-disposition"]
    assert response.headers["content-disposition"].startswith("attachment;")


def test_local_keys_cannot_leave_the_folder(tmp_path: Path) -> None:
    local = LocalFileStore(tmp_path)
    for key in ("../escape", "/etc/passwd", "f//x", "F/Upper", "f/x/"):
        with pytest.raises(ValueError, match="not a file key"):
            local._path(key)


@pytest.mark.parametrize("signed", [False, True])
async def test_the_app_on_s3(  # fixtures and a parameter
    engine: AsyncEngine, database_url: str, s3_endpoint: str, signed: bool, tmp_path: Path
) -> None:
    """Upload and download through the app with the S3 adapter; with signed URLs on, the
    download is a redirect to the store, which serves the same bytes and headers."""
    settings = make_settings(
        database_url,
        files_backend="s3",
        files_signed_urls=signed,
        s3_endpoint_url=s3_endpoint,
        s3_bucket=BUCKET,
        s3_access_key="test",
        s3_secret_key="test",
        files_dir=tmp_path / "unused",
    )
    async with running_app(settings) as app:
        world = await build_world(app.services, await app.services.passwords.hash(PASSWORD))
        teacher = Api(app.client, await api_token(app.client, "teacher.a"))
        uploaded = await teacher.post(
            "/api/v1/files", files={"file": ("fiche.pdf", PDF, "application/pdf")}
        )
        assert uploaded.status_code == 201, uploaded.text
        work = await post_homework(
            teacher, world["a"], Clock(), attachment_ids=[uploaded.json()["id"]]
        )
        pupil = Api(app.client, await api_token(app.client, "pupil.a"))
        response = await pupil.get(work["attachments"][0]["url"])
        if signed:
            assert response.status_code == 303
            async with httpx.AsyncClient() as outside:
                response = await outside.get(response.headers["location"])
        assert response.status_code == 200
        assert response.content == PDF
        assert response.headers["content-disposition"].startswith("attachment;")
        assert not (tmp_path / "unused").exists()


async def test_open_existing_fails_before_the_first_byte(store: FileStore) -> None:
    from preau.adapters.files import open_existing

    with pytest.raises(FileNotFoundError):
        await open_existing(store, "no/such/key")
    await store.put("there", b"a" * 100_000, content_type="application/octet-stream")
    chunks = await open_existing(store, "there")
    assert b"".join([chunk async for chunk in chunks]) == b"a" * 100_000
