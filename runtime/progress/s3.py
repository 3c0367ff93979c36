"""Progress as one S3 document per job, `{prefix}/{job_id}.json`, overwritten by each event.

boto3 is imported and the client made on the first send, on the reporter's thread: neither
the CLI's start-up nor the task pays for it. botocore's own retries are off because the
reporter retries with its own policy, which the exit budget can cut short.
"""

from __future__ import annotations

from typing import Any

from runtime.progress.delivery import REQUEST_TIMEOUT, Rejected
from runtime.retry import Retry, retryable


class S3Endpoint:
    def __init__(self, bucket: str, prefix: str, job_id: str) -> None:
        self.bucket = bucket
        self.key = f"{prefix}/{job_id}.json" if prefix else f"{job_id}.json"
        self.target = f"s3://{bucket}/{self.key}"
        self._client: Any = None

    def send(self, body: bytes, timeout: float) -> None:
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        try:
            self._s3().put_object(
                Bucket=self.bucket, Key=self.key, Body=body, ContentType="application/json"
            )
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            code = exc.response.get("Error", {}).get("Code", "") or status
            raise (Retry if retryable(exc) else Rejected)(f"S3 {code}") from None
        except NoCredentialsError as exc:
            raise Rejected(str(exc)) from None
        except BotoCoreError as exc:
            raise Retry(f"{type(exc).__name__}: {exc}") from None

    def _s3(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            config = Config(
                connect_timeout=REQUEST_TIMEOUT,
                read_timeout=REQUEST_TIMEOUT,
                retries={"total_max_attempts": 1, "mode": "standard"},
            )
            self._client = boto3.session.Session().client("s3", config=config)
        return self._client
