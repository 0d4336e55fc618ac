"""Real faults for the reliability tests: a TCP proxy that refuses, cuts or slows connections, a Celery worker
that can be killed the hard way, and the app pointed at a broker of the test's choosing.

Nothing here mocks a library: the proxy sits on a real port in front of a real server (moto's S3), so boto3
sees refused connections, connections closed mid-request and slow answers exactly as it would from a real
bucket; the worker is a real ``celery worker`` process that gets SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.services import REPO, free_port, reset_celery_app, wait_until


class FaultProxy:
    """A TCP proxy on 127.0.0.1 in front of ``target_port``, with three faults:

    * ``refuse()`` closes the listening port and drops every open connection: the server is gone
      (connection refused) until ``heal()`` opens the same port again;
    * ``cut_after(n)``: each new connection forwards ``n`` bytes of the client's request stream, then both
      sides are reset mid-request (a load balancer or network dropping the upload);
    * ``throttle(seconds)``: every chunk the client sends waits that long before it is forwarded (a slow link).
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._cut_after: int | None = None
        self._delay = 0.0
        self._listener: socket.socket | None = None
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self.accepted = 0
        self.cuts = 0

    # --- control ------------------------------------------------------------------------------------------------

    def start(self) -> FaultProxy:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.1)
        self._listener = listener
        self._stopped.clear()
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def refuse(self) -> None:
        """Close the port and every connection through it: new connections are refused."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        self._drop_all()

    def heal(self) -> None:
        """Forward everything again, on the same port."""
        self._cut_after = None
        self._delay = 0.0
        if self._listener is None:
            self.start()

    def cut_after(self, size: int) -> None:
        self._cut_after = size
        self._drop_all()

    def throttle(self, seconds: float) -> None:
        self._delay = seconds

    def stop(self) -> None:
        self._stopped.set()
        self.refuse()

    # --- forwarding ---------------------------------------------------------------------------------------------

    def _accept(self, listener: socket.socket) -> None:
        while not self._stopped.is_set() and self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                server = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                self._reset(client)
                continue
            client.settimeout(None)
            server.settimeout(None)
            with self._lock:
                self._connections.update((client, server))
                self.accepted += 1
            limit = self._cut_after
            threading.Thread(target=self._pipe, args=(client, server, limit, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, None, False), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, limit: int | None, upstream: bool) -> None:
        sent = 0
        try:
            while True:
                chunk = source.recv(16384 if limit is None else max(1, min(16384, limit - sent)))
                if not chunk:
                    break
                if upstream and self._delay:
                    time.sleep(self._delay)
                sink.sendall(chunk)
                sent += len(chunk)
                if limit is not None and sent >= limit:
                    with self._lock:
                        self.cuts += 1
                    break
        except OSError:
            pass
        finally:
            self._reset(source)
            self._reset(sink)

    def _reset(self, sock: socket.socket) -> None:
        with self._lock:
            self._connections.discard(sock)
        with contextlib.suppress(OSError):
            # Linger 0: close with a reset, as a crashed peer or a dropped route does, not a polite FIN.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        with contextlib.suppress(OSError):
            sock.close()

    def _drop_all(self) -> None:
        with self._lock:
            connections = list(self._connections)
        for sock in connections:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            self._reset(sock)


class RedisServer:
    """A private ``redis-server`` on a free port, that a test can stop, start again and freeze (SIGSTOP)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self.answers, timeout=10, what="redis-server")
        return self

    def answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_timeout=0.5, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def client(self) -> Any:
        import redis

        return redis.Redis(port=self.port, socket_timeout=2)

    def stop(self) -> None:
        """Stop the server for real: its port closes and everything in it is gone (no persistence)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def freeze(self) -> None:
        """SIGSTOP: the port still accepts connections but nothing answers (a hung server)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


class Worker:
    """A real ``celery worker`` in its own process group, so a test can SIGKILL it whole or just its pool child."""

    def __init__(self, *, env: dict[str, str], queue: str, log: Path, pool: str = "solo") -> None:
        self.env = env
        self.queue = queue
        self.log = log
        self.pool = pool
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._offset = self.log.stat().st_size if self.log.exists() else 0
        handle = self.log.open("ab")
        pool = ["--pool=solo"] if self.pool == "solo" else [f"--pool={self.pool}", "--concurrency=1"]
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "celery"),
                "-A",
                "leger",
                "worker",
                *pool,
                "--loglevel=INFO",
                f"--queues={self.queue}",
                f"--hostname={self.queue}-{time.monotonic_ns()}@%h",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=REPO,
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

        def ready() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"celery worker exited early; see {self.log}")
            return "ready." in self.output()

        wait_until(ready, timeout=60, what="celery worker")
        return self

    def output(self) -> str:
        """What this start of the worker logged."""
        with self.log.open("rb") as handle:
            handle.seek(self._offset)
            return handle.read().decode(errors="replace")

    def pool_child(self) -> int:
        """The pid of the prefork pool's process that runs tasks."""
        assert self.process is not None
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        assert len(children) == 1, children
        return int(children[0])

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool): no warm shutdown, no message handed back."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)


def received(output: str, task: str = "leger.releases.publish_release") -> int:
    """How many times a worker's log says it received (was delivered) the task."""
    return len(re.findall(rf"Task {re.escape(task)}\[[0-9a-f-]+\] received", output))


@contextlib.contextmanager
def app_on_broker(broker_url: str, queue: str) -> Iterator[Any]:
    """Point this process's Celery app at ``broker_url`` and ``queue`` (no result backend), then put it back."""
    from leger.celery import app

    keys = ("broker_url", "result_backend", "task_always_eager", "task_default_queue")
    saved = {key: app.conf[key] for key in keys}
    app.conf.update(broker_url=broker_url, result_backend=None, task_always_eager=False, task_default_queue=queue)
    reset_celery_app(app)
    try:
        yield app
    finally:
        app.conf.update(saved)
        reset_celery_app(app)


class Bucket:
    """A fresh, versioned bucket on moto, read directly (never through a proxy), so a test can see every write.

    Versioning keeps each put of a key: ``writes(key)`` says how many times it was written, which is how the
    tests know ``latest`` moved exactly once and a manifest was not written twice.
    """

    def __init__(self, moto_url: str) -> None:
        import boto3

        from tests.services import S3_ENV

        self.name = f"faults-{uuid.uuid4().hex[:12]}"
        self.client = boto3.client(
            "s3",
            endpoint_url=moto_url,
            region_name=S3_ENV["LEGER_S3_REGION"],
            aws_access_key_id=S3_ENV["LEGER_S3_ACCESS_KEY_ID"],
            aws_secret_access_key=S3_ENV["LEGER_S3_SECRET_ACCESS_KEY"],
        )
        self.client.create_bucket(Bucket=self.name)
        self.client.put_bucket_versioning(Bucket=self.name, VersioningConfiguration={"Status": "Enabled"})

    def objects(self, prefix: str) -> dict[str, bytes]:
        listed = self.client.list_objects_v2(Bucket=self.name, Prefix=prefix).get("Contents", [])
        return {o["Key"]: self.client.get_object(Bucket=self.name, Key=o["Key"])["Body"].read() for o in listed}

    def get(self, key: str) -> bytes | None:
        try:
            return self.client.get_object(Bucket=self.name, Key=key)["Body"].read()
        except self.client.exceptions.NoSuchKey:
            return None

    def writes(self, key: str) -> int:
        versions = self.client.list_object_versions(Bucket=self.name, Prefix=key).get("Versions", [])
        return sum(1 for version in versions if version["Key"] == key)


def worker_env(*, database_url: str, broker_url: str, queue: str, s3_url: str, bucket: str, **extra: str) -> dict:
    """The environment of a test worker: the test database, the given broker, queue and bucket endpoint."""
    from tests.services import S3_ENV

    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "CONN_MAX_AGE": "0",
        "CELERY_BROKER_URL": broker_url,
        "CELERY_RESULT_BACKEND": "",
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "LEGER_S3_BUCKET": bucket,
        "LEGER_S3_ENDPOINT_URL": s3_url,
        **S3_ENV,
        **extra,
    }


def check_published_whole(release: Any, bucket: Bucket) -> dict[str, Any]:
    """Every file the manifest lists is in the bucket with its checksum, nothing else is under the version, and
    the rows say published at 100% with no error."""
    import json

    from leger.lib.storage import sha256_hex

    assert (release.status, release.progress, release.error) == ("published", 100, ""), release.error
    owner_uuid = release.snapshot["release"]["owner_uuid"]
    prefix = f"{owner_uuid}/v{release.version}/"
    objects = bucket.objects(prefix)
    manifest = json.loads(objects[prefix + "manifest.json"])
    assert manifest["version"] == release.version
    assert set(objects) == {prefix + entry["path"] for entry in manifest["files"]} | {prefix + "manifest.json"}
    for entry in manifest["files"]:
        assert sha256_hex(objects[prefix + entry["path"]]) == entry["sha256"], entry["path"]
    stored = {f.path: f.sha256 for f in release.files.all()}
    assert stored == {entry["path"]: entry["sha256"] for entry in manifest["files"]} | {
        "manifest.json": sha256_hex(objects[prefix + "manifest.json"])
    }
    return manifest
