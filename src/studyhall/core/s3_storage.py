"""S3-compatible storage (AWS S3, MinIO, SeaweedFS, R2): `STORAGE_URL=s3://bucket[/prefix]`.

Clients upload and download straight to the store with presigned URLs (SigV4, query
parameters), so the store checks signatures and expiry itself. The upload URL signs
`Content-Type` and `Content-Length`: a store enforcing signed headers refuses a body of another
size or type. The download URL makes the store answer with the file's type and an attachment
name. boto3 is synchronous: each call runs in a worker thread, on one client made once per
storage (boto3 clients are thread-safe).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from studyhall.config import Settings
from studyhall.core.storage import (
    PresignedDownload,
    PresignedUpload,
    Storage,
    StoredObjectNotFound,
    check_key,
    content_disposition,
    expiry,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

#: Error codes of a missing object: `head_object` has no body, so only the status says it.
_MISSING = {"404", "NoSuchKey", "NotFound"}


class S3Storage(Storage):
    """Objects under `prefix` in `bucket`; a key `a/b` is the object `<prefix>/a/b`."""

    def __init__(self, client: S3Client, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    def object_key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    async def presign_upload(
        self, key: str, *, content_type: str, size_bytes: int, expires_in: timedelta
    ) -> PresignedUpload:
        params = {
            "Bucket": self.bucket,
            "Key": self.object_key(key),
            "ContentType": content_type,
            "ContentLength": size_bytes,
        }
        url = await self._presign("put_object", params, expires_in)
        return PresignedUpload(url=url, expires_at=expiry(expires_in), headers={"Content-Type": content_type})

    async def presign_download(
        self, key: str, *, filename: str, content_type: str, expires_in: timedelta
    ) -> PresignedDownload:
        params = {
            "Bucket": self.bucket,
            "Key": self.object_key(key),
            "ResponseContentType": content_type,
            "ResponseContentDisposition": content_disposition(filename),
        }
        return PresignedDownload(await self._presign("get_object", params, expires_in), expiry(expires_in))

    async def _presign(self, operation: str, params: dict[str, Any], expires_in: timedelta) -> str:
        # No request is sent, but finding credentials may (an instance role): not on the loop.
        url: str = await asyncio.to_thread(
            self.client.generate_presigned_url,
            operation,
            Params=params,
            ExpiresIn=int(expires_in.total_seconds()),
        )
        return url

    async def size(self, key: str) -> int | None:
        try:
            head = await asyncio.to_thread(
                self.client.head_object, Bucket=self.bucket, Key=self.object_key(key)
            )
        except ClientError as exc:
            if _is_missing(exc):
                return None
            raise
        return int(head["ContentLength"])

    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        await asyncio.to_thread(
            self.client.put_object,
            Bucket=self.bucket,
            Key=self.object_key(key),
            Body=data,
            ContentType=content_type,
        )

    async def read(self, key: str) -> bytes:
        def read_all() -> bytes:
            try:
                found = self.client.get_object(Bucket=self.bucket, Key=self.object_key(key))
            except ClientError as exc:
                if _is_missing(exc):
                    raise StoredObjectNotFound(key) from exc
                raise
            with found["Body"] as body:
                data: bytes = body.read()
            return data

        return await asyncio.to_thread(read_all)

    async def exists(self, key: str) -> bool:
        return await self.size(key) is not None

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=self.object_key(key))

    async def probe(self) -> None:
        await asyncio.to_thread(self.client.head_bucket, Bucket=self.bucket)


def _is_missing(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code")) in _MISSING


def s3_storage_from_settings(settings: Settings) -> S3Storage:
    """`s3://bucket[/prefix]` with the `S3_*` settings; unset credentials fall back to
    boto3's usual chain (environment, profile, instance role)."""
    parts = urlsplit(settings.storage_url or "")
    if not parts.netloc:
        raise ValueError("STORAGE_URL: an S3 URL names its bucket: s3://bucket[/prefix]")
    client = boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        region_name=settings.s3_region,
        aws_access_key_id=settings.s3_access_key_id,
        aws_secret_access_key=settings.s3_secret_access_key,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path" if settings.s3_force_path_style else "auto"},
            connect_timeout=settings.s3_timeout,
            read_timeout=settings.s3_timeout,
            retries={"mode": "standard", "max_attempts": 3},
        ),
    )
    return S3Storage(client, parts.netloc, parts.path)
