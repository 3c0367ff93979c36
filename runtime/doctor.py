"""`batch-task doctor`: what this container is set up to use, and whether it can reach it.

Run it in a new image or under a new job definition before the first real job: a log sink
that can't be reached never fails a task (SPEC), so without this check a wrong
`PAPERTRAIL_URL` shows up only as missing logs. One line per check; what is not configured is
"off", not a failure. Checks run side by side, each bounded by CHECK_SECONDS, so a host that
drops packets costs seconds, not minutes. Exit 0, or 69 when something configured fails.
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from runtime import cgroups
from runtime.errors import ExitCode, UsageError

CHECK_SECONDS = 4.0
NETWORK_SECONDS = 3.0
GIB = 1024**3
OK, OFF, FAIL = "ok", "off", "FAIL"
# Set by AWS Batch or by the user: any of these means AWS is meant to be used from here.
AWS_HINTS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_PROFILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ENDPOINT_URL",
    "AWS_BATCH_JOB_ID",
)


@dataclass(frozen=True)
class Result:
    name: str
    status: str
    detail: str


Check = Callable[[Mapping[str, str]], Result]


def main(args: list[str]) -> int:
    if args:
        raise UsageError("usage: batch-task doctor (it takes no arguments; it reads the env)")
    results = run(CHECKS, os.environ)
    width = max(len(r.name) for r in results)
    for r in results:
        print(f"{r.status:<4}  {r.name:<{width}}  {r.detail}", flush=True)
    failed = [r.name for r in results if r.status == FAIL]
    if failed:
        print(f"batch-task doctor: failed: {', '.join(failed)}", file=sys.stderr, flush=True)
        return ExitCode.UNAVAILABLE
    return ExitCode.OK


def run(checks: list[tuple[str, Check]], environ: Mapping[str, str]) -> list[Result]:
    """Run every check in its own thread; one that outlives CHECK_SECONDS is a failure."""
    results: dict[str, Result] = {}

    def attempt(name: str, check: Check) -> None:
        try:
            results[name] = check(environ)
        except Exception as exc:
            results[name] = Result(name, FAIL, f"{type(exc).__name__}: {exc}")

    threads = [
        threading.Thread(target=attempt, args=(name, check), daemon=True, name=f"doctor:{name}")
        for name, check in checks
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + CHECK_SECONDS
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return [
        results.get(name) or Result(name, FAIL, f"no answer within {CHECK_SECONDS:g} s")
        for name, _ in checks
    ]


def gdal(environ: Mapping[str, str]) -> Result:
    import rasterio

    with rasterio.Env() as env:
        drivers = env.drivers()
    missing = [d for d in ("GTiff", "COG") if d not in drivers]
    version = f"GDAL {rasterio.__gdal_version__}"
    if missing:
        return Result("gdal", FAIL, f"{version} lacks the {' and '.join(missing)} driver(s)")
    return Result("gdal", OK, f"{version}, rasterio {rasterio.__version__}; GTiff and COG")


def scratch(environ: Mapping[str, str]) -> Result:
    configured = environ.get("SCRATCH_DIR", "").strip()
    base = Path(configured or tempfile.gettempdir())
    where = f"SCRATCH_DIR={base}" if configured else f"{base} (SCRATCH_DIR unset)"
    existing = next(p for p in (base, *base.parents) if p.exists())
    try:
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".batch-task-doctor-"):
            pass
    except OSError as exc:
        return Result("scratch", FAIL, f"{where} is not writable: {exc.strerror or exc}")
    free = shutil.disk_usage(existing).free
    return Result("scratch", OK, f"{where} writable, {free / GIB:.1f} GiB free")


def memory(environ: Mapping[str, str]) -> Result:
    limit = cgroups.memory()
    host = f"host {cgroups.host_memory() / GIB:.1f} GiB"
    if limit.value is None:
        return Result("memory", OK, f"no limit ({limit.source}); {host}")
    return Result("memory", OK, f"{limit.value / GIB:.2f} GiB ({limit.source}); {host}")


def cpu(environ: Mapping[str, str]) -> Result:
    limit = cgroups.cpus()
    usable = cgroups.usable_cpus()
    host = f"{usable} usable of {os.cpu_count()} on the host"
    if limit.value is None:
        return Result("cpu", OK, f"no quota ({limit.source}); {host}")
    return Result("cpu", OK, f"{limit.value:g} CPUs ({limit.source}); {host}")


def aws(environ: Mapping[str, str]) -> Result:
    if not _aws_configured(environ):
        return Result("aws", OFF, "no AWS credentials, profile, role or endpoint configured")
    session = _session()
    if session.get_credentials() is None:
        return Result("aws", FAIL, "AWS is configured but no credentials were found")
    identity = _client(session, "sts").get_caller_identity()
    region = session.region_name or "no region"
    return Result("aws", OK, f"{identity['Arn']} in {region}")


def s3(environ: Mapping[str, str]) -> Result:
    if not _aws_configured(environ):
        return Result("s3", OFF, "AWS is not configured")
    from botocore.exceptions import ClientError

    client = _client(_session(), "s3")
    try:
        count = len(client.list_buckets().get("Buckets", []))
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("AccessDenied", "AllAccessDisabled"):
            return Result("s3", OK, f"{client.meta.endpoint_url} answers (ListBuckets: {code})")
        raise
    return Result("s3", OK, f"{client.meta.endpoint_url} answers ({count} buckets listed)")


def cloudwatch(environ: Mapping[str, str]) -> Result:
    group = environ.get("CLOUDWATCH_LOG_GROUP", "").strip()
    if not group:
        return Result("cloudwatch", OFF, "CLOUDWATCH_LOG_GROUP unset")
    if not _aws_configured(environ):
        return Result("cloudwatch", FAIL, f"CLOUDWATCH_LOG_GROUP={group} but AWS is not configured")
    found = _client(_session(), "logs").describe_log_groups(logGroupNamePrefix=group, limit=50)
    if any(g["logGroupName"] == group for g in found.get("logGroups", [])):
        return Result("cloudwatch", OK, f"log group {group} exists")
    return Result("cloudwatch", OK, f"log group {group} does not exist yet; the sink creates it")


def papertrail(environ: Mapping[str, str]) -> Result:
    url = environ.get("PAPERTRAIL_URL", "").strip()
    if not url:
        return Result("papertrail", OFF, "PAPERTRAIL_URL unset")
    from runtime.sinks.papertrail import parse_url, tls_context

    endpoint = parse_url(url)
    where = f"{endpoint.scheme}://{endpoint.host}:{endpoint.port}"
    if endpoint.scheme == "udp":
        address = socket.getaddrinfo(endpoint.host, endpoint.port, type=socket.SOCK_DGRAM)
        shown = address[0][4][0]
        return Result("papertrail", OK, f"{where} resolves to {shown} (UDP has no handshake)")
    try:
        with socket.create_connection((endpoint.host, endpoint.port), NETWORK_SECONDS) as sock:
            if endpoint.scheme == "tcp":
                return Result("papertrail", OK, f"{where} accepts connections")
            with tls_context(environ).wrap_socket(sock, server_hostname=endpoint.host) as tls:
                return Result("papertrail", OK, f"{where} TLS handshake ok ({tls.version()})")
    except (OSError, ssl.SSLError) as exc:
        return Result("papertrail", FAIL, f"{where}: {exc}")


def progress(environ: Mapping[str, str]) -> Result:
    url = environ.get("PROGRESS_URL", "").strip()
    if not url:
        return Result("progress", OFF, "PROGRESS_URL unset")
    from runtime.job import Job
    from runtime.progress import endpoint_from_env

    try:
        endpoint_from_env(environ, Job("doctor"))
    except UsageError as exc:
        return Result("progress", FAIL, str(exc))
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "s3":
        if not _aws_configured(environ):
            return Result("progress", FAIL, "PROGRESS_URL is s3:// but AWS is not configured")
        _client(_session(), "s3").head_bucket(Bucket=parts.netloc)
        return Result("progress", OK, f"s3://{parts.netloc} exists and is reachable")
    # Only scheme, host and port are shown: a webhook's path or query may hold a credential.
    where = f"{scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    request = urllib.request.Request(url, method="HEAD")
    token = environ.get("PROGRESS_TOKEN")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=NETWORK_SECONDS) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError) as exc:
        return Result("progress", FAIL, f"{where}: {getattr(exc, 'reason', exc)}")
    if status in (401, 403):
        return Result("progress", FAIL, f"{where} refused the request (HTTP {status})")
    return Result("progress", OK, f"{where} answers (HTTP {status} to HEAD)")


def _aws_configured(environ: Mapping[str, str]) -> bool:
    if any(environ.get(name) for name in AWS_HINTS):
        return True
    home = Path(environ.get("HOME") or "~").expanduser()
    files = (environ.get("AWS_SHARED_CREDENTIALS_FILE"), environ.get("AWS_CONFIG_FILE"))
    candidates = [Path(f) for f in files if f] + [home / ".aws/credentials", home / ".aws/config"]
    return any(p.is_file() for p in candidates)


def _session() -> Any:
    import boto3

    return boto3.session.Session()


def _client(session: Any, service: str) -> Any:
    from botocore.config import Config

    config = Config(
        connect_timeout=NETWORK_SECONDS,
        read_timeout=NETWORK_SECONDS,
        retries={"total_max_attempts": 1},
    )
    return session.client(service, config=config)


CHECKS: list[tuple[str, Check]] = [
    ("gdal", gdal),
    ("scratch", scratch),
    ("memory", memory),
    ("cpu", cpu),
    ("aws", aws),
    ("s3", s3),
    ("cloudwatch", cloudwatch),
    ("papertrail", papertrail),
    ("progress", progress),
]
