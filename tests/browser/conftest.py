"""Shared harness for the real-browser tests of the web UI.

Debian's chromium, headless, driven by selenium, against the real
`restic-manager-server` binary, the real `restic-manager-agent` binary and
real restic writing to a real local repository. Nothing is mocked. Every
wait has a deadline (selenium's `WebDriverWait`, the e2e harness's
`wait_for`); nothing sleeps and hopes.

The end-to-end helpers are reused from `tests/e2e`. Both folders have a
`conftest.py` imported by pytest under the same module name, so the e2e files
are loaded here by path under names of their own.
"""
from __future__ import annotations

import base64
import contextlib
import importlib.util
import os
import pathlib
import re
import sys
import urllib.parse
import uuid
from dataclasses import dataclass, field

import pytest
import requests
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

HERE = pathlib.Path(__file__).resolve().parent
E2E = HERE.parent / "e2e"
SCREENSHOTS = pathlib.Path(os.environ.get("RM_SCREENSHOTS", HERE / "screenshots-run"))
CHROMIUM = os.environ.get("RM_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("RM_CHROMEDRIVER", "/usr/bin/chromedriver")
WIDTH, HEIGHT = 1280, 900


def _load(name: str, path: pathlib.Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


e2e = _load("e2e_conftest", E2E / "conftest.py")
# agent_harness does `from conftest import …`: let that name the e2e conftest while it loads.
_ours = sys.modules.get("conftest")
sys.modules["conftest"] = e2e
try:
    harness = _load("e2e_agent_harness", E2E / "agent_harness.py")
finally:
    if _ours is None:
        sys.modules.pop("conftest", None)
    else:
        sys.modules["conftest"] = _ours

wait_for = e2e.wait_for
Client = e2e.Client


def pytest_sessionstart(session):
    """Screenshots are from this run only: the old ones go first."""
    if SCREENSHOTS.exists():
        for old in SCREENSHOTS.glob("*.png"):
            old.unlink()


# ---------------------------------------------------------------------------
# The browser.
# ---------------------------------------------------------------------------

def new_driver(width: int = WIDTH, height: int = HEIGHT) -> webdriver.Chrome:
    options = Options()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", f"--window-size={width},{height}",
                     "--hide-scrollbars"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


class Browser:
    """One headless chromium with helpers for the page hooks in docs/web-ui.md."""

    def __init__(self, server, label: str, width: int = WIDTH, height: int = HEIGHT):
        self.server = server
        self.label = label
        self.driver = new_driver(width, height)
        self.console_errors: list[str] = []
        self.set_viewport(width, height)

    def set_viewport(self, width: int, height: int) -> None:
        """Sizes the window so the page itself gets `width` x `height` pixels."""
        self.driver.set_window_size(width, height)
        inner = self.driver.execute_script("return [window.innerWidth, window.innerHeight]")
        self.driver.set_window_size(width + width - inner[0], height + height - inner[1])

    # -- navigation -------------------------------------------------------
    def open(self, path: str) -> None:
        self.collect_console()
        self.driver.get(self.server.url(path))
        self.wait_loaded()

    def wait_loaded(self, timeout: float = 15) -> None:
        self.wait(lambda: self.driver.execute_script("return document.readyState") == "complete", timeout,
                  "page loaded")

    @property
    def url(self) -> urllib.parse.ParseResult:
        return urllib.parse.urlparse(self.driver.current_url)

    @property
    def path(self) -> str:
        return self.url.path

    def wait(self, predicate, timeout: float = 15, message: str = "condition"):
        """Polls `predicate` (no argument) until truthy, with a deadline."""
        def check(_driver):
            try:
                return predicate()
            except (NoSuchElementException, StaleElementReferenceException):
                return False
        return WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(
            check, f"{self.label}: timed out after {timeout}s waiting for {message} on {self.driver.current_url}")

    # -- elements ---------------------------------------------------------
    def find(self, css: str):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def exists(self, css: str) -> bool:
        return bool(self.find_all(css))

    def wait_css(self, css: str, timeout: float = 15):
        return self.wait(lambda: self.find(css), timeout, f"element {css}")

    def text(self, css: str) -> str:
        return self.find(css).text.strip()

    def field(self, form_css: str, name: str):
        return self.find(f"{form_css} [name='{name}']")

    def fill(self, form_css: str, **values) -> None:
        """Sets form fields by name: text, textarea, select, checkbox."""
        for name, value in values.items():
            element = self.field(form_css, name)
            tag = element.tag_name.lower()
            kind = (element.get_attribute("type") or "").lower()
            if tag == "select":
                Select(element).select_by_value(str(value))
            elif kind in ("checkbox", "radio"):
                if element.is_selected() != bool(value):
                    element.click()
            else:
                element.clear()
                element.send_keys(str(value))

    def submit(self, form_css: str, timeout: float = 20, confirm: bool = False) -> None:
        """Clicks the form's submit button and waits for the next page;
        `confirm` accepts the confirmation dialog the click opens."""
        form = self.find(form_css)
        buttons = form.find_elements(By.CSS_SELECTOR, "button[type=submit], input[type=submit], button:not([type])")
        # A marker on the old document: the next page is loaded once it is gone.
        # (staleness_of trips over chromedriver's "node does not belong to the
        # document" while the old page is torn down.)
        self.driver.execute_script("window.__rmOldPage = true")
        if buttons:
            buttons[0].click()
        else:
            form.submit()
        if confirm:
            WebDriverWait(self.driver, 5, poll_frequency=0.05).until(
                EC.alert_is_present(), f"{self.label}: submitting {form_css} asked for no confirmation").accept()
        WebDriverWait(self.driver, timeout, poll_frequency=0.05, ignored_exceptions=(WebDriverException,)).until(
            lambda driver: driver.execute_script("return window.__rmOldPage === undefined"),
            f"{self.label}: submitting {form_css} loaded no new page")
        self.wait_loaded()

    def csrf_token(self) -> str:
        return self.find("input[name=csrf_token]").get_attribute("value")

    def session_cookie(self) -> str | None:
        cookie = self.driver.get_cookie("rm_session")
        return cookie["value"] if cookie else None

    def form_data(self, form_css: str) -> tuple[str, dict]:
        """The absolute action URL and the name/value pairs of a form's inputs."""
        form = self.find(form_css)
        action = form.get_attribute("action") or self.driver.current_url
        data = {}
        for element in form.find_elements(By.CSS_SELECTOR, "input[name], select[name], textarea[name]"):
            kind = (element.get_attribute("type") or "").lower()
            if kind in ("checkbox", "radio") and not element.is_selected():
                continue
            data[element.get_attribute("name")] = element.get_attribute("value")
        return action, data

    # -- signing in ---------------------------------------------------------
    def login(self, username: str, password: str, path: str = "/login") -> None:
        self.open(path)
        self.fill("form", username=username, password=password)
        self.submit_login()

    def submit_login(self) -> None:
        form_css = "form:has([name=password])"
        self.submit(form_css)

    # -- evidence ---------------------------------------------------------
    def shot(self, name: str) -> pathlib.Path:
        """Saves the visible window, and the whole page too when it is taller."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.collect_console()
        path = SCREENSHOTS / f"{name}.png"
        assert self.driver.save_screenshot(str(path)), f"screenshot {name} failed"
        # Long pages also get a full-length shot, for reviewing the whole page.
        metrics = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
        content = metrics.get("cssContentSize") or metrics["contentSize"]
        viewport = metrics.get("cssLayoutViewport") or metrics["layoutViewport"]
        if content["height"] > viewport["clientHeight"] + 2:
            clip = {"x": 0, "y": 0, "width": viewport["clientWidth"], "height": min(content["height"], 6000),
                    "scale": 1}
            data = self.driver.execute_cdp_cmd("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": True, "clip": clip})
            (SCREENSHOTS / f"{name}-full.png").write_bytes(base64.b64decode(data["data"]))
        return path

    def collect_console(self) -> list[str]:
        try:
            entries = self.driver.get_log("browser")
        except Exception:  # noqa: BLE001 - a closed window has no log
            return self.console_errors
        for entry in entries:
            message = entry.get("message", "")
            if entry.get("level") != "SEVERE" or "favicon.ico" in message:
                continue
            # A page answered 401/403 on purpose logs "Failed to load resource" for
            # the document itself; a failed script, stylesheet or API call counts.
            failed_url = message.split(" ", 1)[0]
            if "Failed to load resource" in message and not re.search(r"/(assets|api)/", failed_url):
                continue
            # The cron preview answers a bad cron with the documented 400.
            if "/schedules/preview?" in failed_url and "status of 400" in message:
                continue
            self.console_errors.append(f"{self.driver.current_url}: {message}")
        return self.console_errors

    def quit(self) -> None:
        self.collect_console()
        self.driver.quit()


# ---------------------------------------------------------------------------
# One server, one agent, one repository per module.
# ---------------------------------------------------------------------------

@dataclass
class Stack:
    server: object
    admin: Client
    tmp: pathlib.Path
    agents: list = field(default_factory=list)
    browsers: list = field(default_factory=list)
    state: dict = field(default_factory=dict)

    def browser(self, label: str, width: int = WIDTH, height: int = HEIGHT) -> Browser:
        browser = Browser(self.server, label, width, height)
        self.browsers.append(browser)
        return browser

    def client_for(self, browser: Browser) -> requests.Session:
        """A plain HTTP session carrying the browser's session cookie."""
        session = requests.Session()
        session.cookies.set("rm_session", browser.session_cookie())
        return session


@contextlib.contextmanager
def running_stack(tmp: pathlib.Path, *server_args: str):
    """A server and what the tests add to it (browsers, agents), all stopped after."""
    assert harness.AGENT_BINARY.exists(), f"{harness.AGENT_BINARY} is missing: swift build --product restic-manager-agent"
    server = e2e.start_server(tmp, *server_args)
    built = Stack(server, Client(server, "admin", server.admin_password), tmp)
    try:
        yield built
    finally:
        for browser in built.browsers:
            browser.quit()
        for agent in built.agents:
            agent.stop()
        server.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    # The default offline limit (90 s): the real agent heartbeats every 30 s,
    # so a shorter limit makes its host flap offline between pages.
    with running_stack(tmp_path_factory.mktemp("web")) as built:
        yield built


def random_sample(path: pathlib.Path, megabytes: int) -> pathlib.Path:
    """A folder of incompressible data with no repeated chunks, so restic
    uploads every byte of it (the e2e `slow_sample` repeats its blocks, which
    restic deduplicates into a fast backup)."""
    path.mkdir(parents=True, exist_ok=True)
    for index in range(megabytes):
        (path / f"random-{index}.bin").write_bytes(os.urandom(1 << 20))
    return path


def new_id() -> str:
    return uuid.uuid4().hex[:6]
