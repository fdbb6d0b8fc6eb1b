"""`ganctl demo` in a real browser: headless Chromium (Debian's chromium and
chromium-driver) driven by Selenium against the demo serving small models trained here.
Screenshots go to each test's temp folder (and to GANCTL_SCREENSHOT_DIR when set)."""

from __future__ import annotations

import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import requests
from PIL import Image

from tests.conftest import TINY

pytest.importorskip("gradio")
pytest.importorskip("selenium")
if not (shutil.which("chromium") and shutil.which("chromedriver")):
    if os.environ.get("CI") == "true":
        raise RuntimeError("the browser test needs Debian's chromium and chromium-driver")
    pytest.skip("chromium / chromedriver not installed", allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

pytestmark = pytest.mark.slow  # the demo in headless Chromium (not in the fast tier)

RUNS = {"edges2shoes": TINY["pix2pix"], "sneakers": TINY["sneakers"],
        "sneakers2": TINY["sneakers2"], "leaks": TINY["leaks"]}
SEEN: dict[str, str] = {}  # what one test learns for a later one (the upload folder)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def demo(tmp_path_factory, tiny_runs):
    """`ganctl demo edges2shoes sneakers leaks` on a free port, weights in its cache."""
    from ganctl.cli import main

    root = tmp_path_factory.mktemp("browser")
    runs = tiny_runs(RUNS)
    env = {**os.environ, "GANCTL_HOME": str(root / "home"), "WANDB_MODE": "disabled"}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GANCTL_HOME", env["GANCTL_HOME"])
        for weights in runs.values():
            try:
                main(["models", "import", str(weights)])
            except SystemExit as e:
                assert not e.code
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "ganctl", "demo", "edges2shoes", "sneakers",
                             "leaks", "--no-browser", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"ganctl demo exited: {proc.stderr.read()[-2000:]}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                break
        except requests.ConnectionError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("ganctl demo did not answer within 150 s")
    yield url, runs, proc, Path(env["GANCTL_HOME"])
    if proc.poll() is None:  # a test failed before the Ctrl-C one: SIGTERM cleans up too
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                "--window-size=1280,1100"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


def open_tab(driver, url: str, title: str) -> WebDriverWait:
    """Switch to a tab, loading the page only the first time (a reload costs seconds)."""
    if not driver.current_url.startswith(url):
        driver.get(url)
    wait = WebDriverWait(driver, 60, poll_frequency=0.1)
    tab = wait.until(lambda d: [t for t in d.find_elements(By.CSS_SELECTOR, "button[role=tab]")
                                if t.text == title])[0]
    tab.click()
    return wait


def image_of(driver, wait, elem_id: str, after: str | None = None) -> tuple[str, np.ndarray]:
    """The URL and pixels of the image a component shows (a new one, if `after`)."""
    def ready(d):
        imgs = d.find_elements(By.CSS_SELECTOR, f"#{elem_id} img")
        src = imgs[0].get_attribute("src") if imgs else None
        return src if src and src != after and "/file=" in src else None

    src = wait.until(ready)
    data = requests.get(src, timeout=30).content
    return src, np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def shot(driver, tmp_path: Path, name: str) -> None:
    driver.save_screenshot(str(tmp_path / f"{name}.png"))
    if os.environ.get("GANCTL_SCREENSHOT_DIR"):
        driver.save_screenshot(str(Path(os.environ["GANCTL_SCREENSHOT_DIR"]) / f"{name}.png"))


def test_a_drawing_translates_like_ganctl_translate(demo, browser, cli, tmp_path):
    url, runs, _, _ = demo
    wait = open_tab(browser, url, "edges2shoes: translate")
    canvas = wait.until(lambda d: [c for c in d.find_elements(
        By.CSS_SELECTOR, "#edges2shoes-translate-pad canvas") if c.size["width"] > 50])[0]
    strokes = ActionChains(browser).move_to_element_with_offset(canvas, -70, 60)
    strokes.click_and_hold()
    for dx, dy in [(12, -14)] * 5 + [(15, 0)] * 4 + [(10, 12)] * 5:
        strokes.move_by_offset(dx, dy)
    strokes.release().perform()
    # the page opened on a sample drawing and its translation
    first, sample = image_of(browser, wait, "edges2shoes-translate-input")
    first_out, _ = image_of(browser, wait, "edges2shoes-translate-out0")
    assert (sample < 128).any() and (sample > 250).mean() > 0.8
    browser.find_element(By.ID, "edges2shoes-translate-draw-go").click()
    src, drawn = image_of(browser, wait, "edges2shoes-translate-input", after=first)
    _, shoe = image_of(browser, wait, "edges2shoes-translate-out0", after=first_out)
    assert (drawn != sample).any()  # the strokes went onto the sample drawing
    SEEN["uploads"] = src.split("/file=", 1)[1].rsplit("/", 1)[0]
    shot(browser, tmp_path, "demo-edges2shoes")
    assert drawn.shape == (256, 256, 3) and (drawn < 128).any() and (drawn > 250).mean() > 0.8
    Image.fromarray(drawn).save(tmp_path / "drawing.png")
    res = cli("translate", "edges2shoes", tmp_path / "drawing.png", "--weights",
              runs["edges2shoes"], "-o", tmp_path / "cli.png")
    assert res.code == 0, res.err
    assert (shoe == np.asarray(Image.open(tmp_path / "cli.png").convert("RGB"))).all()


def test_the_sneakers_page_generates_and_upscales_an_upload(demo, browser, cli, tmp_path,
                                                           monkeypatch):
    url, runs, _, home = demo
    wait = open_tab(browser, url, "sneakers: generate")
    _, grid = image_of(browser, wait, "sneakers-generate-grid")  # shown on load
    monkeypatch.setenv("GANCTL_HOME", str(home))  # the demo's cache: stage 1, then x4
    assert cli("sample", "sneakers", "--seeds", "0-15", "-o", tmp_path / "cli.png").code == 0
    assert (grid == np.asarray(Image.open(tmp_path / "cli.png").convert("RGB"))).all()

    wait = open_tab(browser, url, "sneakers: upscale")
    small = tmp_path / "small.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (24, 20, 3), np.uint8)).save(small)
    wait.until(lambda d: d.find_elements(
        By.CSS_SELECTOR, "#sneakers-upscale-upload input[type=file]"))[0].send_keys(str(small))
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#sneakers-upscale-upload img"))
    browser.find_element(By.ID, "sneakers-upscale-go").click()
    _, big = image_of(browser, wait, "sneakers-upscale-out")
    shot(browser, tmp_path, "demo-sneakers-upscale")
    assert big.shape == (96, 80, 3)


def test_the_leaks_page_scores_dropped_photos(demo, browser, tmp_path):
    url, _, _, _ = demo
    wait = open_tab(browser, url, "leaks: detect")
    rng = np.random.default_rng(1)
    photos = []
    for i in range(3):
        photos.append(tmp_path / f"pipe{i}.png")
        Image.fromarray(rng.integers(0, 256, (40, 48, 3), np.uint8)).save(photos[-1])
    field = wait.until(lambda d: d.find_elements(
        By.CSS_SELECTOR, "#leaks-detect-photos input[type=file]"))[0]
    field.send_keys("\n".join(str(p) for p in photos))
    # uploaded: each file listed (name and suffix on separate lines)
    wait.until(lambda d: all(p.stem in d.find_element(By.ID, "leaks-detect-photos").text
                             for p in photos))
    browser.find_element(By.ID, "leaks-detect-go").click()
    table = wait.until(lambda d: d.find_element(By.ID, "leaks-detect-table")
                       if "pipe2.png" in d.find_element(By.ID, "leaks-detect-table").text
                       else None)
    text = table.text
    shot(browser, tmp_path, "demo-leaks")
    assert all(p.name in text for p in photos)
    assert text.count("normal") + text.count("leak") >= 3


def test_ctrl_c_stops_the_demo_and_removes_its_uploads(demo):
    _, _, proc, _ = demo
    uploads = SEEN.get("uploads")
    assert uploads and Path(uploads).exists()  # the first test's drawing lives there
    proc.send_signal(signal.SIGINT)
    # Gradio lets requests still in flight finish first: slow on a loaded 2-core machine
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-2000:]
    assert "demo stopped" in err and "Traceback" not in err
    assert not Path(uploads).exists() and not Path(uploads).parent.exists()
