"""Run the built image as a user and AWS Batch would, against services on the host network.

Called by docker/test-image.sh with the image's name once it is built; `podman` on PATH must
reach that image. Starts moto's server (S3, CloudWatch Logs), an HTTP progress receiver and a
TCP syslog receiver on 127.0.0.1, then runs: the image's help, `list`, `doctor`, an ingest
of a generated raster from and to S3, the same ingest through the job definition with
`batch-task local --image`, and a `podman stop` of a running task. Each check prints one
line; the first that fails stops the run with its reason and exit 1.
"""

from __future__ import annotations

import json
import os
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BUCKET = "image-test"
LOG_GROUP = "/batch-task/image-test"
RUN_TIMEOUT = 180


class ProgressReceiver:
    """Records every JSON body POSTed to it, as a progress webhook would."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        events = self.events

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                events.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def do_HEAD(self) -> None:
                self.send_response(405)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/progress"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def of(self, job_id: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("job_id") == job_id]


class SyslogReceiver:
    """Keeps each newline-framed line received over TCP, as Papertrail would."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        lines = self.lines

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                for raw in self.rfile:
                    lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"tcp://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


class Services:
    def __init__(self, workdir: Path) -> None:
        port = _free_port()
        self.moto = subprocess.Popen(
            [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.endpoint = f"http://127.0.0.1:{port}"
        _wait_until(lambda: _answers(self.endpoint), "moto_server to answer")
        self.progress = ProgressReceiver()
        self.syslog = SyslogReceiver()
        self.workdir = workdir
        self.aws = {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing-secret-key",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        os.environ.update(self.aws)
        import boto3

        self.s3 = boto3.client("s3")
        self.logs = boto3.client("logs")

    def sinks(self, job_id: str) -> dict[str, str]:
        return {
            "AWS_BATCH_JOB_ID": job_id,
            "CLOUDWATCH_LOG_GROUP": LOG_GROUP,
            "PAPERTRAIL_URL": self.syslog.url,
            "PROGRESS_URL": self.progress.url,
        }

    def log_events(self, job_id: str) -> list[dict[str, Any]]:
        found = self.logs.filter_log_events(logGroupName=LOG_GROUP)["events"]
        return [e for e in map(_event, (f["message"] for f in found)) if e.get("job_id") == job_id]

    def stop(self) -> None:
        self.moto.terminate()
        self.moto.wait(10)


def podman_run(image: str, args: list[str], env: dict[str, str], name: str = "") -> list[str]:
    """`podman run` on the host network with `env` passed by name (values stay off argv)."""
    argv = ["podman", "run", "--rm", "--network=host"]
    if name:
        argv += ["--name", name]
    for key in env:
        argv += ["--env", key]
    return [*argv, image, *args]


def run(argv: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )


def check_help_and_list(image: str, services: Services) -> str:
    shown = run(["podman", "run", "--rm", image])
    assert shown.returncode == 0, shown.stderr
    assert "usage: batch-task" in shown.stdout, shown.stdout
    started = time.monotonic()
    listed = run(podman_run(image, ["list"], {}))
    assert listed.returncode == 0, listed.stderr
    names = [line.split()[0] for line in listed.stdout.splitlines() if line.strip()]
    assert "echo" in names, listed.stdout
    user = run(["podman", "run", "--rm", "--entrypoint", "id", image, "-u"])
    uid = user.stdout.strip()
    assert uid != "0", "the image must not run as root"
    return f"tasks {', '.join(names)}, listed in {time.monotonic() - started:.1f} s; uid {uid}"


def check_doctor(image: str, services: Services) -> str:
    plain = run(podman_run(image, ["doctor"], {}))
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert _status(plain.stdout, "gdal") == "ok", plain.stdout
    assert _status(plain.stdout, "papertrail") == "off", plain.stdout
    env = {**services.aws, **services.sinks("doctor")}
    configured = run(podman_run(image, ["doctor"], env), env)
    assert configured.returncode == 0, configured.stdout + configured.stderr
    for name in ("aws", "s3", "cloudwatch", "papertrail", "progress"):
        assert _status(configured.stdout, name) == "ok", configured.stdout
    limited = run(
        ["podman", "run", "--rm", "--cpus", "0.5", "--memory", "256m", image, "doctor"], env
    )
    assert "0.25 GiB" in limited.stdout and "0.5 CPUs" in limited.stdout, limited.stdout
    broken = {**env, "PAPERTRAIL_URL": f"tcp://127.0.0.1:{_free_port()}"}
    unreachable = run(podman_run(image, ["doctor"], broken), broken)
    assert unreachable.returncode == 69, unreachable.stdout
    assert _status(unreachable.stdout, "papertrail") == "FAIL", unreachable.stdout
    return "all off: 0; all reachable: 0; cgroup limits seen; papertrail down: 69"


def check_ingest(image: str, services: Services) -> str:
    task = _ingest_or_echo(image)
    job_id = "image-ingest"
    env = {**services.aws, **services.sinks(job_id)}
    if task == "echo":
        args = ["echo", "--message", "image test", "--steps", "3"]
    else:
        source = _upload_raster(services)
        args = ["ingest", "--source", source, "--destination", f"s3://{BUCKET}/out/scene.tif"]
    started = time.monotonic()
    done = run(podman_run(image, args, env), env)
    elapsed = time.monotonic() - started
    assert done.returncode == 0, _outcome(done)
    events = [_event(line) for line in done.stdout.splitlines()]
    (succeeded,) = [e for e in events if e.get("event") == "task.succeeded"]
    if task == "ingest":
        _check_outputs(services, succeeded["result"])
    _check_delivered(services, job_id, "task.succeeded", "SUCCEEDED")
    return f"{task} exit 0 in {elapsed:.1f} s; stdout, CloudWatch, syslog and progress all agree"


def check_local_job_definition(image: str, services: Services) -> str:
    if _ingest_or_echo(image) == "echo":
        return "skipped: the image has no ingest task yet"
    source = _upload_raster(services)
    destination = f"s3://{BUCKET}/local/scene.tif"
    overrides = ["-e", f"CLOUDWATCH_LOG_GROUP={LOG_GROUP}"]
    overrides += ["-e", f"PAPERTRAIL_URL={services.syslog.url}"]
    overrides += ["-e", f"PROGRESS_URL={services.progress.url}"]
    argv = [
        sys.executable,
        "-m",
        "runtime",
        "local",
        str(ROOT / "docker" / "job-definitions" / "ingest.json"),
        "--image",
        image,
        "-p",
        f"source={source}",
        "-p",
        f"destination={destination}",
        *overrides,
        "--json",
    ]
    done = run(argv, {**services.aws, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, _outcome(done)
    (job,) = json.loads(done.stdout.splitlines()[-1])["jobs"]
    assert job["status"] == "SUCCEEDED", job
    assert [a["container"]["exitCode"] for a in job["attempts"]] == [0], job
    services.s3.head_object(Bucket=BUCKET, Key="local/scene.tif")
    _check_delivered(services, job["jobId"], "task.succeeded", "SUCCEEDED")
    return f"SUCCEEDED with the image's --init, --cpus and --memory; job {job['jobId']}"


def check_stop(image: str, services: Services) -> str:
    job_id = "image-stop"
    name = f"batch-task-stop-{os.getpid()}"
    env = {**services.aws, **services.sinks(job_id)}
    args = ["echo", "--steps", "600", "--delay", "0.1"]
    proc = subprocess.Popen(
        podman_run(image, args, env, name=name),
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_until(
            lambda: any(e["status"] == "RUNNING" for e in services.progress.of(job_id)),
            "a RUNNING progress event",
        )
        started = time.monotonic()
        stopped = run(["podman", "stop", "-t", "25", name])
        assert stopped.returncode == 0, stopped.stderr
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    took = time.monotonic() - started
    assert proc.returncode == 143, f"exit {proc.returncode}\n{out[-2000:]}\n{err[-2000:]}"
    events = [_event(line) for line in out.splitlines()]
    (failed,) = [e for e in events if e.get("event") == "task.failed"]
    assert failed["exit_code"] == 143, failed
    _check_delivered(services, job_id, "task.failed", "FAILED")
    return f"exit 143 {took:.1f} s after `podman stop`; final log and progress events delivered"


def _ingest_or_echo(image: str) -> str:
    listed = run(podman_run(image, ["list"], {}))
    names = {line.split()[0] for line in listed.stdout.splitlines() if line.strip()}
    return "ingest" if "ingest" in names else "echo"


def _upload_raster(services: Services) -> str:
    """A small georeferenced RGB raster, made here and put in moto's S3."""
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    path = services.workdir / "scene.tif"
    if not path.exists():
        rows, cols = np.mgrid[0:600, 0:700]
        bands = np.stack([rows % 256, cols % 256, (rows + cols) % 256]).astype("uint8")
        profile = {
            "driver": "GTiff",
            "width": 700,
            "height": 600,
            "count": 3,
            "dtype": "uint8",
            "crs": "EPSG:32633",
            "transform": from_origin(500_000, 5_000_000, 10, 10),
        }
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(bands)
        services.s3.create_bucket(Bucket=BUCKET)
        services.s3.upload_file(str(path), BUCKET, "in/scene.tif")
    return f"s3://{BUCKET}/in/scene.tif"


def _check_outputs(services: Services, result: dict[str, Any]) -> None:
    from rio_cogeo.cogeo import cog_validate

    local = services.workdir / "out.tif"
    bucket, key = result["cog"].removeprefix("s3://").split("/", 1)
    services.s3.download_file(bucket, key, str(local))
    valid, errors, _ = cog_validate(str(local))
    assert valid, errors
    assert (result["width"], result["height"], result["count"]) == (700, 600, 3), result
    for uri in (result["item"], result["thumbnail"]):
        bucket, key = uri.removeprefix("s3://").split("/", 1)
        services.s3.head_object(Bucket=bucket, Key=key)


def _check_delivered(services: Services, job_id: str, final_event: str, status: str) -> None:
    """The last log event reached CloudWatch and syslog, the last progress event the webhook."""

    def delivered() -> bool:
        progress = services.progress.of(job_id)
        in_syslog = any(final_event in line and job_id in line for line in services.syslog.lines)
        logged = [e["event"] for e in services.log_events(job_id)]
        return (
            bool(progress)
            and progress[-1]["status"] == status
            and in_syslog
            and (final_event in logged)
        )

    _wait_until(delivered, f"{final_event} and {status} delivered for {job_id}", timeout=10)


def _outcome(done: subprocess.CompletedProcess[str]) -> str:
    """Why a run failed, short: its task.failed event without the traceback, or its tail."""
    for line in reversed(done.stdout.splitlines()):
        event = _event(line)
        if event.get("event") == "task.failed":
            event.pop("exception", None)
            return f"exit {done.returncode}: {json.dumps(event)}"
    return f"exit {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"


def _status(doctor_output: str, check: str) -> str:
    for line in doctor_output.splitlines():
        fields = line.split()
        if len(fields) > 1 and fields[1] == check:
            return fields[0]
    raise AssertionError(f"doctor printed no {check!r} line:\n{doctor_output}")


def _event(line: str) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):
            return True
    except OSError:
        return False


def _wait_until(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


CHECKS: list[tuple[str, Callable[[str, Services], str]]] = [
    ("help and list", check_help_and_list),
    ("doctor", check_doctor),
    ("ingest from and to S3", check_ingest),
    ("batch-task local --image with the ingest job definition", check_local_job_definition),
    ("podman stop of a running task", check_stop),
]


def main(image: str) -> int:
    with tempfile.TemporaryDirectory(prefix="batch-task-image-") as tmp:
        services = Services(Path(tmp))
        try:
            for name, check in CHECKS:
                started = time.monotonic()
                try:
                    detail = check(image, services)
                except AssertionError as exc:
                    print(f"image test: FAILED {name}: {exc}", file=sys.stderr)
                    return 1
                print(f"image test: ok {name} ({time.monotonic() - started:.1f} s): {detail}")
        finally:
            services.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
