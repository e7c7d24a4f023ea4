"""Any S3-compatible service through boto3 (AWS, MinIO, R2), handing out pre-signed URLs.

Endpoint and credentials come from boto3's own environment variables
(AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION).
"""

from __future__ import annotations

from typing import Any, BinaryIO


class S3Storage:
    """Objects under s3://bucket/prefix; multipart uploads stream from the source."""

    def __init__(self, bucket: str, prefix: str, *, url_ttl_s: int, client: Any = None) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = f"{prefix}/" if prefix else ""
        self.url_ttl_s = url_ttl_s
        # SigV4 pre-signed URLs: what R2, MinIO and every AWS region accept.
        self.client = client or boto3.client("s3", config=Config(signature_version="s3v4"))

    def put(self, key: str, source: BinaryIO, *, content_type: str) -> None:
        # upload_fileobj sends parts as it reads; a failed upload is aborted whole.
        self.client.upload_fileobj(
            source, self.bucket, self.prefix + key, ExtraArgs={"ContentType": content_type}
        )

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.prefix + key)

    def url(self, key: str, *, ttl_s: int | None = None) -> str:
        return str(
            self.client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": self.prefix + key},
                ExpiresIn=ttl_s or self.url_ttl_s,
            )
        )
