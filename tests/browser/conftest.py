"""Browser fixtures: the app served on a free port in a thread, Debian's Chromium driven by Playwright."""
from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import need

CHROMIUM = os.environ.get("VOLNET_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def live_server(app):
    """Serve the test app (same database) on 127.0.0.1 in a background thread."""
    app.config["SERVER_NAME"] = None
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        app.config["SERVER_NAME"] = "localhost"


@pytest.fixture(scope="session")
def browser():
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        need("Chromium is not installed (apt-get install chromium fonts-nanum)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need("playwright is not installed")
    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium"),
                               args=ARGS, headless=True)
    except Exception as exc:  # noqa: BLE001
        pw.stop()
        need(f"Chromium did not start: {exc}")
    yield b
    b.close()
    pw.stop()


@pytest.fixture
def phone(browser):
    ctx = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                              locale="ko-KR", timezone_id="Asia/Seoul")
    page = ctx.new_page()
    page.set_default_timeout(15000)
    yield page
    ctx.close()


@pytest.fixture
def desktop(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ko-KR", timezone_id="Asia/Seoul")
    page = ctx.new_page()
    page.set_default_timeout(15000)
    yield page
    ctx.close()


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def login(page, base: str, login_id: str, password: str) -> None:
    page.goto(f"{base}/account/login")
    page.fill("#login_id", login_id)
    page.fill("#password", password)
    page.click("button[type=submit].btn-primary")
    page.wait_for_load_state("networkidle")
