"""Files in an S3-compatible object store (AWS S3, MinIO, Garage, Ceph RGW…).

boto3 is synchronous; each call runs in a worker thread. Downloads can be answered with a
presigned URL that carries the download headers, so app workers do not stream bytes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from preau.domain.classwork import attachment_disposition
from preau.ports import FileStoreUnavailable

CHUNK = 256 * 1024


class S3FileStore:
    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str | None,
        region: str,
        access_key: str | None,
        secret_key: str | None,
    ) -> None:
        self.bucket = bucket
        self.client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url or None,
            region_name=region,
            aws_access_key_id=access_key or None,
            aws_secret_access_key=secret_key or None,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=5,
                read_timeout=30,
            ),
        )

    async def _call(self, method: str, **kwargs: Any) -> Any:
        try:
            return await asyncio.to_thread(getattr(self.client, method), **kwargs)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in {"NoSuchKey", "404", "NotFound"}:
                raise FileNotFoundError(kwargs.get("Key", "")) from None
            raise FileStoreUnavailable(f"S3 {method} failed: {code}") from error
        except BotoCoreError as error:
            raise FileStoreUnavailable(f"S3 {method} failed: {error}") from error

    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        await self._call(
            "put_object", Bucket=self.bucket, Key=key, Body=data, ContentType=content_type
        )

    async def put_path(self, key: str, path: Path, *, content_type: str) -> None:
        # boto3's managed transfer: multipart above its threshold, never all in memory.
        await self._call(
            "upload_file",
            Filename=str(path),
            Bucket=self.bucket,
            Key=key,
            ExtraArgs={"ContentType": content_type},
        )

    async def size(self, key: str) -> int:
        response = await self._call("head_object", Bucket=self.bucket, Key=key)
        return int(response["ContentLength"])

    async def open_range(self, key: str, start: int, end: int) -> AsyncIterator[bytes]:
        response = await self._call(
            "get_object", Bucket=self.bucket, Key=key, Range=f"bytes={start}-{end}"
        )
        body = response["Body"]
        try:
            while chunk := await asyncio.to_thread(body.read, CHUNK):
                yield chunk
        finally:
            body.close()

    async def open(self, key: str) -> AsyncIterator[bytes]:
        response = await self._call("get_object", Bucket=self.bucket, Key=key)
        body = response["Body"]
        try:
            while chunk := await asyncio.to_thread(body.read, CHUNK):
                yield chunk
        finally:
            body.close()

    async def delete(self, key: str) -> None:
        await self._call("delete_object", Bucket=self.bucket, Key=key)

    async def signed_url(
        self, key: str, *, filename: str, content_type: str, expires_seconds: int
    ) -> str | None:
        url: str = await asyncio.to_thread(
            self.client.generate_presigned_url,
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": key,
                "ResponseContentDisposition": attachment_disposition(filename),
                "ResponseContentType": content_type,
            },
            ExpiresIn=expires_seconds,
        )
        return url

    async def close(self) -> None:
        await asyncio.to_thread(self.client.close)
