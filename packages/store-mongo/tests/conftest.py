"""The MongoDB server the tests talk to, over TCP through pymongo.

With ``SESSIONUP_TEST_MONGO_URL`` set, that server is used and nothing is started.
Otherwise the tests start ``nx-27017`` (a MongoDB wire-protocol server backed by SQLite,
installed with the ``test`` extra) on a free port, with its data in a temporary folder,
and stop it at the end. Tests marked ``needs_real_mongodb`` skip on the stand-in only.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from mongo_servers import MongoServer
from pymongo import MongoClient
from pymongo.errors import PyMongoError

ENV = "SESSIONUP_TEST_MONGO_URL"
STAND_IN = "nx-27017"


def _unavailable(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _hello(url: str, wait: float) -> dict[str, object] | None:
    """The server's buildInfo, or None if it does not answer within ``wait`` seconds."""
    client: MongoClient[dict[str, object]] = MongoClient(
        url, serverSelectionTimeoutMS=int(wait * 1000), connectTimeoutMS=1000
    )
    try:
        return client.admin.command("buildInfo")
    except PyMongoError:
        return None
    finally:
        client.close()


def _is_stand_in(build_info: dict[str, object]) -> bool:
    # nx-27017 names itself in buildInfo's "process"; mongod and mongos do not send it.
    return build_info.get("process") == "nx_27017"


def _start_stand_in(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    log = (folder / "server.log").open("wb")
    command = [
        sys.executable,
        "-c",
        "import sys; from nx_27017.nx_27017 import main; sys.exit(main())",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        str(folder / "data"),
        "--log-file",
        str(folder / "nx.log"),
        "--pid-file",
        str(folder / "nx.pid"),
    ]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    return process, f"mongodb://127.0.0.1:{port}"


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def mongo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MongoServer]:
    """The server under test: the one ``SESSIONUP_TEST_MONGO_URL`` names, or the stand-in."""
    given = os.environ.get(ENV)
    if given:
        info = _hello(given, wait=5)
        if info is None:
            _unavailable(f"MongoDB at {ENV} is not reachable; set {ENV} to a running server")
        assert info is not None
        yield MongoServer(given, stand_in=_is_stand_in(info))
        return

    try:
        import nx_27017  # noqa: F401
    except ImportError:
        _unavailable(f"{STAND_IN} is not installed (pip install {STAND_IN}), and {ENV} is unset")
    folder = tmp_path_factory.mktemp("nx-27017")
    (folder / "data").mkdir()
    process, url = _start_stand_in(folder)
    try:
        deadline = time.monotonic() + 30
        info = None
        while info is None and time.monotonic() < deadline and process.poll() is None:
            info = _hello(url, wait=1)
        if info is None:
            output = (folder / "server.log").read_text(errors="replace")[-2000:]
            _unavailable(
                f"{STAND_IN} did not start on {url} (set {ENV} to use a server):\n{output}"
            )
        yield MongoServer(url, stand_in=True)
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def test_database(mongo_server: MongoServer) -> Iterator[str]:
    """A database of this run alone, dropped at the end."""
    name = f"sessionup_test_{uuid.uuid4().hex[:12]}"
    yield name
    client: MongoClient[dict[str, object]] = MongoClient(mongo_server.host_url)
    try:
        client.drop_database(name)
    finally:
        client.close()


@pytest.fixture
def sync_client(mongo_server: MongoServer) -> Iterator[MongoClient[dict[str, object]]]:
    """A blocking pymongo client, to look at and damage what the store wrote."""
    client: MongoClient[dict[str, object]] = MongoClient(mongo_server.host_url, tz_aware=True)
    yield client
    client.close()


@pytest.fixture
def collection_name(
    test_database: str, sync_client: MongoClient[dict[str, object]]
) -> Iterator[str]:
    """A collection of this test alone, dropped with its layout record afterwards."""
    name = f"s_{uuid.uuid4().hex[:12]}"
    yield name
    database = sync_client[test_database]
    database.drop_collection(name)
    database["sessionup_meta"].delete_one({"_id": name})


@pytest.fixture
def store_url(mongo_server: MongoServer, test_database: str, collection_name: str) -> str:
    """The URL of this test's collection."""
    return mongo_server.url(test_database, collection=collection_name)


@pytest.fixture(autouse=True)
def _real_mongodb_only(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("needs_real_mongodb") is None:
        return
    server: MongoServer = request.getfixturevalue("mongo_server")
    if server.stand_in:
        pytest.skip(f"needs a real MongoDB server; {STAND_IN} lacks this (set {ENV})")
