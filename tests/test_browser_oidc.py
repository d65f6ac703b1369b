"""Signing in through an identity provider (Streamlit's st.login, OpenID Connect) against a local mock provider
(oidc-provider-mock): someone the store knows gets in with their role; someone it does not is turned away."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from core.paths import REPO_ROOT
from core.users.store import UserStore
from tests import test_browser
from tests.test_browser import CHROMIUM, STUDIO_LOG, evidence, free_port

pytestmark = pytest.mark.slow
browser = test_browser.browser  # the module-scoped Chromium fixture


def wait_answering(url: str, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert process.poll() is None, f"{url}: the server ended"
        try:
            if urllib.request.urlopen(url, timeout=2).status == 200:
                return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"{url} did not answer")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def oidc_studio(tmp_path_factory):
    if not Path(CHROMIUM).is_file():
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api")
    pytest.importorskip("oidc_provider_mock")
    root = tmp_path_factory.mktemp("oidc")
    users = UserStore(root / "data" / "users.json")
    users.add("ada", "admin", "ada-password")
    users.add("carol@lab.example.org", "annotator", None)  # signs in through the provider only
    provider_port, studio_port = free_port(), free_port()
    secrets = root / "secrets.toml"
    secrets.write_text(f"""[auth]
redirect_uri = "http://127.0.0.1:{studio_port}/oauth2callback"
cookie_secret = "a-test-cookie-secret-of-enough-length"
client_id = "fer-studio"
client_secret = "fer-studio-secret"
server_metadata_url = "http://127.0.0.1:{provider_port}/.well-known/openid-configuration"
""")
    env = {**os.environ, "FER_DATA_DIR": str(root / "data"), "FER_RUNS_DIR": str(root / "runs"),
           "NO_PROXY": "127.0.0.1,localhost"}
    with open(root / "provider.log", "wb") as log:
        provider = subprocess.Popen([sys.executable, "-m", "oidc_provider_mock", "--port", str(provider_port)],
                                    env=env, stdout=log, stderr=subprocess.STDOUT)
    with open(root / STUDIO_LOG, "wb") as log:
        studio = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app/main.py", "--server.port",
                                   str(studio_port), "--secrets.files", str(secrets)], cwd=REPO_ROOT, env=env,
                                  stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_answering(f"http://127.0.0.1:{provider_port}/.well-known/openid-configuration", provider)
        wait_answering(f"http://127.0.0.1:{studio_port}/_stcore/health", studio)
        yield f"http://127.0.0.1:{studio_port}", root, studio
    finally:
        stop(studio)
        stop(provider)


def sign_in_with_provider(browser, url: str, subject: str):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(180_000)  # a loaded 2-core machine
    page.goto(url)
    page.get_by_role("button", name="Sign in with your organisation's account").click()
    page.locator("input[name=sub]").last.fill(subject)  # the mock provider's form: who to be
    page.get_by_role("button", name="Authorize").click()
    return page


def test_a_known_identity_signs_in_with_the_stores_role(oidc_studio, browser):
    url, root, studio = oidc_studio
    page = sign_in_with_provider(browser, url, "Carol@lab.example.org")
    with evidence(page, root, "oidc_known", studio):
        page.get_by_text("Signed in as carol@lab.example.org (annotator)").wait_for()
        page.get_by_text("Only an admin imports or replaces the data set").wait_for()
    page.close()


def test_an_identity_without_an_account_is_turned_away(oidc_studio, browser):
    url, root, studio = oidc_studio
    page = sign_in_with_provider(browser, url, "mallory@elsewhere.example.org")
    with evidence(page, root, "oidc_unknown", studio):
        page.get_by_text("has no account here").wait_for()
        assert page.locator("[data-testid=stSidebarNav]").count() == 0
    page.close()
