"""rediss:// against a private redis-server speaking TLS, with a CA made for the test."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis_servers import RedisProcess, free_port, unavailable

from sessionup.core import Session, StoreError, open_store


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, and a server certificate it signed for 127.0.0.1."""
    if shutil.which("openssl") is None:
        unavailable("openssl is not installed; the TLS tests make their certificates with it")
    folder = tmp_path_factory.mktemp("tls")
    key = ["-newkey", "rsa:2048", "-nodes", "-days", "1"]
    openssl("req", "-x509", *key, "-keyout", f"{folder}/ca.key", "-out", f"{folder}/ca.crt",
            "-subj", "/CN=sessionup test CA")  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{folder}/server.key",
            "-out", f"{folder}/server.csr", "-subj", "/CN=127.0.0.1")  # fmt: skip
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", f"{folder}/server.csr", "-CA", f"{folder}/ca.crt",
            "-CAkey", f"{folder}/ca.key", "-CAcreateserial", "-days", "1",
            "-out", f"{folder}/server.crt", "-extfile", f"{folder}/san.ext")  # fmt: skip
    return folder


@pytest.fixture(scope="module")
def tls_port(certificates: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A server whose TLS port is yielded; its plain port only serves the readiness check."""
    port = free_port()
    server = RedisProcess(
        tmp_path_factory.mktemp("tls-redis"),
        free_port(),
        "--tls-port",
        str(port),
        "--tls-cert-file",
        str(certificates / "server.crt"),
        "--tls-key-file",
        str(certificates / "server.key"),
        "--tls-ca-cert-file",
        str(certificates / "ca.crt"),
        "--tls-auth-clients",
        "no",
    )
    try:
        server.start()
    except RuntimeError as exc:
        unavailable(f"redis-server could not start with TLS: {exc}")
    yield port
    server.stop()


async def test_a_rediss_store_round_trips_over_tls(certificates: Path, tls_port: int) -> None:
    now = datetime.now(UTC)
    created = Session(id="tls", user_key="alice", created_at=now, expires_at=now + timedelta(1))
    store = open_store(f"rediss://127.0.0.1:{tls_port}/0?ssl_ca_certs={certificates}/ca.crt")

    async with store:
        await store.create(created)
        fetched = await store.fetch_by_id("tls")
        await store.delete_by_user_key("alice")

    assert fetched == created


async def test_a_server_certificate_from_an_unknown_ca_is_refused(tls_port: int) -> None:
    store = open_store(f"rediss://127.0.0.1:{tls_port}/0?connect_timeout=2")

    with pytest.raises(StoreError, match="certificate"):
        await store.open()
    await store.close()
