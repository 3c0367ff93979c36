"""Abort the S3 multipart uploads a dead task left open.

A task declares each upload it starts (`ctx.track_upload`) and clears it when done; whatever
is still declared when its process ended without finishing them would otherwise be billed as
stored parts until a bucket lifecycle rule removes it. boto3 is imported only in that case.
"""

from __future__ import annotations

from typing import Any

TIMEOUTS = {"connect_timeout": 1, "read_timeout": 2, "retries": {"max_attempts": 2}}


def abort_open(uploads: dict[str, tuple[str, str]], log: Any) -> None:
    if not uploads:
        return
    import boto3
    from botocore.config import Config

    client = boto3.client("s3", config=Config(**TIMEOUTS))
    for upload_id, (bucket, key) in uploads.items():
        uri = f"s3://{bucket}/{key}"
        try:
            client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        except Exception as exc:
            log.warning(
                "upload.abort_failed",
                uri=uri,
                upload_id=upload_id,
                error=f"{type(exc).__name__}: {exc}",
            )
        else:
            log.info("upload.aborted", uri=uri, upload_id=upload_id)
