"""The Voila dashboards, served on 127.0.0.1 and driven in Debian's headless Chromium (Playwright)."""

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (make test installs it as root)")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(notebook: str, tmp_path: Path):
    port = _free_port()
    env = {**os.environ, "EMOLAB_WORK": str(tmp_path), "JUPYTER_PATH": str(ROOT / "share" / "jupyter")}
    voila = Path(sys.executable).parent / "voila"
    proc = subprocess.Popen([str(voila), notebook, "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1", "--template=emolab"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc, f"http://127.0.0.1:{port}/"
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("voila did not start")


def _browser(p):
    return p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)


def _errors(page, bucket):
    page.on("pageerror", lambda e: bucket.append(f"pageerror: {e}"))
    page.on("console", lambda m: bucket.append(f"console: {m.text}") if m.type == "error" and "favicon" not in m.text else None)
    page.on("requestfailed", lambda r: bucket.append(f"request outside the machine failed: {r.url}") if not r.url.startswith("http://127.0.0.1") else None)


@contextlib.contextmanager
def dashboard(notebook: str, tmp_path: Path, viewport: dict):
    """Serve ``notebook`` with Voila on 127.0.0.1 and yield a Chromium page on it; afterwards assert no JS errors
    and no request left the machine."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    proc, url = _serve(notebook, tmp_path)
    errors = []
    try:
        with sync_playwright() as p:
            browser = _browser(p)
            page = browser.new_page(viewport=viewport)
            _errors(page, errors)
            page.goto(url, timeout=120_000)
            yield page
            browser.close()
    finally:
        proc.terminate()
        proc.wait(10)
    assert not errors, errors


def test_lesson_dashboard(tmp_path):
    with dashboard("notebooks/dashboards/lesson.ipynb", tmp_path, {"width": 1280, "height": 1400}) as page:
        page.wait_for_selector(".emolab-analyze", timeout=180_000)
        page.click(".emolab-analyze")
        page.wait_for_selector(".emolab-timeline-chart svg", timeout=420_000)
        status = page.inner_text(".emolab-status")
        assert "synthetic-domain model" in status
        before = page.inner_html(".emolab-timeline-chart")
        img_before = page.get_attribute(".widget-image", "src") if page.query_selector(".widget-image") else None
        page.screenshot(path=str(ARTIFACTS / "lesson-dashboard.png"), full_page=True)
        options = page.eval_on_selector_all(".emolab-people select option", "els => els.map(e => e.textContent)")
        assert len(options) >= 5
        page.select_option(".emolab-people select", label=[options[0]])
        page.wait_for_function("b => document.querySelector('.emolab-timeline-chart').innerHTML !== b", arg=before, timeout=60_000)
        after = page.inner_html(".emolab-timeline-chart")
        assert after != before and options[0] in after
        slider = page.query_selector(".emolab-moment .noUi-handle, .emolab-moment input[type=range]")
        slider.focus()
        for _ in range(15):
            page.keyboard.press("ArrowRight")
        page.wait_for_function("s => { const i = document.querySelector('.widget-image'); return i && i.src !== s; }", arg=img_before,
                               timeout=60_000)
        page.wait_for_timeout(1000)
        assert "nobody speaking" in page.inner_text(".emolab-said") or ":" in page.inner_text(".emolab-said")
        page.screenshot(path=str(ARTIFACTS / "lesson-dashboard-student.png"), full_page=True)
        assert page.query_selector("a.emolab-download[download='lesson-report.html']")


def test_training_dashboard(tmp_path):
    with dashboard("notebooks/dashboards/training.ipynb", tmp_path, {"width": 1200, "height": 1200}) as page:
        page.wait_for_selector(".emolab-train", timeout=180_000)
        page.click(".emolab-train")
        page.wait_for_selector(".emolab-confusion svg", timeout=420_000)
        assert "Validation: accuracy" in page.inner_text(".emolab-train-status")
        assert page.query_selector(".emolab-curves svg")  # live curves were drawn
        page.screenshot(path=str(ARTIFACTS / "training-dashboard.png"), full_page=True)
