"""Real Redis servers for the tests: the shared one, a private cluster, a private server.

The shared server comes from ``SESSIONUP_TEST_REDIS_URL`` (default
``redis://127.0.0.1:6379/0``); every test writes under its own random prefix and removes it
afterwards. The cluster (three masters) and the private server are started here from the
installed ``redis-server`` binary, on free local ports in a temporary folder, and stopped at
the end. Where a server cannot be had, a test fails under ``CI`` and is skipped otherwise.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

REDIS_URL = os.environ.get("SESSIONUP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def unavailable(message: str) -> None:
    """Fail under CI, skip elsewhere, with a message naming what is missing."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    """A local TCP port nothing listens on, whose cluster bus port (+10000) is free too."""
    for _ in range(100):
        port = 20000 + secrets.randbelow(30000)
        if all(_is_free(p) for p in (port, port + 10000)):
            return port
    raise RuntimeError("no free pair of local ports found")


def _is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def glob_escape(text: str) -> str:
    """``text`` as a literal in a SCAN pattern."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def delete_prefix(client: redis.Redis, prefix: str) -> None:
    """Remove every key under ``prefix`` (tests only: a SCAN over one node)."""
    # One key a command: on a cluster node, the keys found sit in many slots.
    with client.pipeline(transaction=False) as pipe:
        for key in client.scan_iter(match=glob_escape(prefix) + "*", count=1000):
            pipe.delete(key)
        pipe.execute()


def redis_binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        unavailable(f"{name} is not installed; the Redis store tests start their own servers")
    assert path is not None
    return path


class RedisProcess:
    """One ``redis-server`` we started, on a fixed port, that can be stopped and restarted."""

    def __init__(self, folder: Path, port: int, *extra: str) -> None:
        self.folder = folder
        self.port = port
        self.extra = extra
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        args = [redis_binary("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no", "--dir", str(self.folder), *self.extra]
        log = (self.folder / "redis.log").open("ab")
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.wait_until(lambda c: bool(c.ping()), "answers PING")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.kill()
        self.process.wait(timeout=10)
        self.process = None

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=2, socket_connect_timeout=2)

    def wait_until(self, check: Callable[[redis.Redis], bool], what: str) -> None:
        deadline = time.monotonic() + 20
        while True:
            try:
                with self.client() as client:
                    if check(client):
                        return
            except redis.RedisError:
                pass
            if self.process is not None and self.process.poll() is not None:
                log = (self.folder / "redis.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"redis-server on port {self.port} exited:\n{log}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on port {self.port} never {what}")
            time.sleep(0.05)


def start_cluster(folder: Path, masters: int = 3) -> list[RedisProcess]:
    """Start ``masters`` cluster-enabled servers and join them into one cluster.

    Returns once every node reports ``cluster_state:ok``; stops what it started on failure.
    """
    nodes: list[RedisProcess] = []
    try:
        for n in range(masters):
            node = RedisProcess(
                folder / str(n),
                free_port(),
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-node-timeout",
                "2000",
            )
            node.start()
            nodes.append(node)
        create = [redis_binary("redis-cli"), "--cluster", "create"]
        create += [f"127.0.0.1:{node.port}" for node in nodes]
        create += ["--cluster-replicas", "0", "--cluster-yes"]
        done = subprocess.run(create, capture_output=True, timeout=60, check=False)
        if done.returncode != 0:
            output = (done.stdout + done.stderr).decode(errors="replace")
            raise RuntimeError(f"redis-cli --cluster create failed: {output}")
        for node in nodes:
            node.wait_until(
                lambda c: b"cluster_state:ok" in c.execute_command("CLUSTER", "INFO"),  # type: ignore[no-untyped-call]
                "reported cluster_state:ok",
            )
    except BaseException:
        for node in nodes:
            node.stop()
        raise
    return nodes


def cluster_url(nodes: list[RedisProcess]) -> str:
    """The URL of a cluster, naming two of its nodes as seeds."""
    return "redis+cluster://" + ",".join(f"127.0.0.1:{node.port}" for node in nodes[:2])
