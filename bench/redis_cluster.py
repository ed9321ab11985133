"""A throwaway local Redis Cluster for the benchmarks: three masters in a temporary folder."""

from __future__ import annotations

import contextlib
import secrets
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


def _free_port() -> int:
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


def _cli(port: int, *args: str) -> str:
    done = subprocess.run(
        ["redis-cli", "-p", str(port), *args], capture_output=True, text=True, timeout=10
    )
    return done.stdout


def _wait(port: int, check: str, *args: str) -> None:
    deadline = time.monotonic() + 20
    while check not in _cli(port, *args):
        if time.monotonic() > deadline:
            raise RuntimeError(f"redis-server on port {port} never answered {check!r}")
        time.sleep(0.05)


@contextlib.contextmanager
def local_cluster(masters: int = 3) -> Iterator[str]:
    """Start a cluster from the installed ``redis-server``; yield its URL; stop it."""
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="sessionup-bench-cluster-") as folder:
        try:
            ports = []
            for n in range(masters):
                port = _free_port()
                data = Path(folder) / str(n)
                data.mkdir()
                args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1"]
                args += ["--save", "", "--appendonly", "no", "--dir", str(data)]
                args += ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]
                processes.append(
                    subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                )
                _wait(port, "PONG", "ping")
                ports.append(port)
            create = ["redis-cli", "--cluster", "create"]
            create += [f"127.0.0.1:{port}" for port in ports]
            create += ["--cluster-replicas", "0", "--cluster-yes"]
            subprocess.run(create, capture_output=True, timeout=60, check=True)
            for port in ports:
                _wait(port, "cluster_state:ok", "cluster", "info")
            yield "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port in ports)
        finally:
            for process in processes:
                process.kill()
                process.wait(timeout=10)
