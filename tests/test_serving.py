"""Nothing open by default: the studio as `make app` starts it listens on 127.0.0.1 only and calls nothing outside;
without an account it serves nothing beyond localhost.

The outside calls are caught by starting Streamlit under a guard that records every name looked up and every
address connected to that is not this machine (its start-up IP lookups are a DNS query and an HTTP GET).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import tomllib
from streamlit.testing.v1 import AppTest

from core.paths import REPO_ROOT
from core.users.store import UserStore

MAIN = str(REPO_ROOT / "app" / "main.py")
GUARD = """
import socket, sys
LOCAL = {"localhost", "127.0.0.1", "::1", "0.0.0.0", "::", "", None}
log = open(sys.argv.pop(1), "a", buffering=1)
lookup, connect = socket.getaddrinfo, socket.socket.connect
def getaddrinfo(host, *args, **kwargs):
    if host not in LOCAL:
        log.write(f"lookup {host}\\n")
    return lookup(host, *args, **kwargs)
def checked_connect(self, address):
    if isinstance(address, tuple) and address[0] not in LOCAL:
        log.write(f"connect {address[0]}\\n")
    return connect(self, address)
socket.getaddrinfo, socket.socket.connect = getaddrinfo, checked_connect
from streamlit.web.cli import main
sys.argv[0] = "streamlit"
main()
"""


def listening_addresses(port: int) -> set[str]:
    """The local addresses (hex, as /proc/net/tcp* writes them) with a socket listening on `port`."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].rsplit(":", 1)
            if int(hex_port, 16) == port and fields[3] == "0A":  # 0A: LISTEN
                found.add(address)
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_guarded(tmp_path: Path, cwd: Path, *flags: str) -> tuple[set[str], Path, str]:
    """Start the studio under the guard (from `cwd`, whose .streamlit/config.toml counts); once it answers, stop
    it and return its port, the guard's log and what it printed."""
    port, calls, out = free_port(), tmp_path / f"calls-{cwd.name}.log", tmp_path / f"out-{cwd.name}.log"
    calls.touch()
    env = {**os.environ, "FER_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(REPO_ROOT)}
    with open(out, "wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-c", GUARD, str(calls), "run", MAIN, "--server.port", str(port), *flags],
            cwd=cwd,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).status == 200:
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(f"the studio did not answer:\n{out.read_text()}")
        time.sleep(1)  # the start-up banner, and its lookups, come just after the server answers
        addresses = listening_addresses(port)
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    return addresses, calls, out.read_text()


@pytest.mark.slow
def test_the_studio_listens_on_loopback_only_and_calls_nothing_outside(tmp_path):
    addresses, calls, printed = start_guarded(tmp_path, REPO_ROOT)
    assert addresses == {"0100007F"}, addresses  # 127.0.0.1, and no IPv6 or wildcard socket
    assert calls.read_text() == "", calls.read_text()
    assert "External URL" not in printed and "Network URL" not in printed


@pytest.mark.slow
def test_the_guard_sees_streamlits_lookups_without_the_projects_config(tmp_path):
    """The control for the test above: without .streamlit/config.toml, headless Streamlit looks up this machine's
    addresses at start (a connect for the internal one, checkip.amazonaws.com for the external one)."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    _, calls, _ = start_guarded(tmp_path, elsewhere, "--server.headless", "true")
    assert calls.read_text().strip(), "the guard caught no outside call, so it proves nothing"


def test_the_config_closes_what_would_open():
    config = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"
    assert config["browser"]["gatherUsageStats"] is False
    assert config["browser"]["serverAddress"] == "localhost"  # set, so no external-IP lookup even on 0.0.0.0
    assert config["client"]["showErrorDetails"] == "none"


def test_without_accounts_nothing_is_served_beyond_localhost(tmp_path, monkeypatch):
    monkeypatch.setenv("FER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr("app.auth.serves_beyond_localhost", lambda: True)
    app = AppTest.from_file(MAIN, default_timeout=120).run()
    assert not app.title and not app.metric
    assert any("python -m core users add NAME --role admin" in e.value for e in app.error)
    UserStore().add("ada", "admin", "ada-password")
    app = AppTest.from_file(MAIN, default_timeout=120).run()  # with an account: the login form
    assert {t.label for t in app.text_input} == {"Name", "Password"} and not app.error


@pytest.mark.parametrize(
    "address, beyond",
    [("127.0.0.1", False), ("localhost", False), ("::1", False), ("0.0.0.0", True), ("", True), ("192.168.1.5", True)],
)
def test_which_addresses_count_as_beyond_localhost(monkeypatch, address, beyond):
    from app import auth

    monkeypatch.setattr("streamlit.runtime.exists", lambda: True)
    monkeypatch.setattr(auth.st, "get_option", lambda name: address)
    assert auth.serves_beyond_localhost() is beyond
