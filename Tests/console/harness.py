"""What the console tests run against: a real `quarry serve` over fixture documents, eval reports
written by `quarry eval --html`, an admin key, a stand-in chat model, and headless Chromium driven
by Selenium through Debian's chromedriver.

Everything lives in one temporary folder and is removed at the end. Nothing is downloaded: the
browser and its driver are the system's (/usr/bin/chromium, /usr/bin/chromedriver), and Selenium
Manager is kept offline.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import stub_llm

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
FIXTURES = HERE / "fixtures"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")

DESKTOP = (1280, 900)
PHONE = (390, 844)


def quarry_bin():
    return os.environ.get("QUARRY_BIN") or str(ROOT / ".build/release/quarry")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A `quarry serve` with its store, folders, reports, key and chat stub, all in one temp dir."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="quarry-console-"))
        self.process = None
        self.stub = None
        self.port = None
        self.key = None
        self.key_id = None
        self.log_path = self.dir / "server.log"

    # -- setup ---------------------------------------------------------------------------------

    def run(self, *args, ok=(0,)):
        """Runs the quarry CLI; fails with its output when it exits with a status not in `ok`."""
        result = subprocess.run([quarry_bin(), *args], capture_output=True, text=True, timeout=120)
        if result.returncode not in ok:
            raise RuntimeError(f"quarry {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
        return result

    def start(self):
        d = self.dir
        self.store = d / "store"
        self.library = d / "library"
        shutil.copytree(FIXTURES / "library", self.library)
        # The ingest root holds the folder the Ingest test starts a job for.
        self.ingest_root = d / "inbox"
        shutil.copytree(FIXTURES / "incoming", self.ingest_root / "incoming")
        self.reports = d / "reports"
        self.reports.mkdir()

        self.run("ingest", str(self.library), "--store", str(self.store), "--no-progress")
        # Two real eval runs of one tiny BEIR dataset that differ in depth, so that every mode's
        # metrics differ between them (the Evaluate view's comparison).
        dataset = d / "bees-eval"
        shutil.copytree(FIXTURES / "eval", dataset)
        for name, top_k in (("deep", "10"), ("shallow", "1")):
            self.run("eval", "--dataset", str(dataset), "--store", str(d / "eval-store"), "--mode", "all",
                     "--top-k", top_k, "--html", str(self.reports / f"{name}.html"),
                     "--json", str(self.reports / f"{name}.json"))

        created = self.run("keys", "create", "--store", str(self.store), "--role", "admin", "--tenant", "default")
        output = created.stdout + created.stderr
        self.key = re.search(r"qk_[A-Za-z0-9_-]+", output).group(0)
        self.key_id = re.search(r"created key ([0-9a-f]+)", output).group(1)

        self.stub, stub_url = stub_llm.start()
        config = d / "quarry.json"
        config.write_text(json.dumps({"llm": {
            "base_url": stub_url, "model": stub_llm.MODEL,
            "input_cost_per_million": 5.0, "output_cost_per_million": 15.0,
            "max_retries": 0, "fallback_to_extractive": False}}))

        for _ in range(5):
            self.port = free_port()
            log = open(self.log_path, "w")
            self.process = subprocess.Popen(
                [quarry_bin(), "serve", "--store", str(self.store), "--host", "127.0.0.1",
                 "--port", str(self.port), "--ingest-root", str(self.ingest_root),
                 "--reports", str(self.reports), "--config", str(config), "--log-level", "warning"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            deadline = time.time() + 20
            while time.time() < deadline and self.process.poll() is None:
                try:
                    with urllib.request.urlopen(self.url("/health"), timeout=1) as response:
                        if response.status == 200:
                            return self
                except (urllib.error.URLError, ConnectionError, OSError):
                    time.sleep(0.1)
            self.stop_process()
        raise RuntimeError("could not start quarry serve:\n" + self.log_path.read_text())

    def stop_process(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None

    def stop(self):
        self.stop_process()
        if self.stub:
            self.stub.shutdown()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- HTTP ------------------------------------------------------------------------------------

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def url(self, path):
        return self.base + path

    def request(self, method, path, body=None, key=True):
        """(status, headers, bytes) of one request, errors included."""
        headers = {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if key:
            headers["Authorization"] = f"Bearer {self.key}"
        request = urllib.request.Request(self.url(path), data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read()

    def json(self, method, path, body=None):
        status, _, data = self.request(method, path, body)
        return status, (json.loads(data) if data else None)


# -- the browser ---------------------------------------------------------------------------------

# Installed into each page the tests load (it runs from WebDriver, so CSP does not apply to it):
# records every CSP / Trusted Types violation and every error toast in sessionStorage, which
# survives reloads. Chromium also logs violations to the console, which the tests read too, so
# one during the page's own start (before this runs) is still caught. (Injected into every new
# document through DevTools instead, it would be blocked — and logged — in the sandboxed report
# frame.)
PAGE_RECORDER = """
if (!window.__recorders) {
  window.__recorders = true;
  const keep = (name, value) => {
    const list = JSON.parse(sessionStorage.getItem(name) || '[]');
    list.push(value);
    sessionStorage.setItem(name, JSON.stringify(list));
  };
  document.addEventListener('securitypolicyviolation', (e) => keep('__csp_violations',
    {directive: e.violatedDirective, blocked: e.blockedURI, source: e.sourceFile, line: e.lineNumber, sample: e.sample}), true);
  const toast = document.getElementById('toast');
  let last = '';
  new MutationObserver(() => {
    const text = toast.textContent.trim();
    if (toast.dataset.kind === 'error' && text && text !== last) keep('__error_toasts', text);
    last = text;
  }).observe(toast, {childList: true, characterData: true, subtree: true, attributes: true});
}
"""


def chromium_options(webdriver):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--hide-scrollbars", "--no-first-run", "--no-default-browser-check",
                 "--disable-extensions", "--disable-background-networking", "--disable-sync",
                 "--disable-component-update", "--disable-features=Translate,MediaRouter",
                 "--force-color-profile=srgb", "--lang=en-US",
                 f"--window-size={DESKTOP[0]},{DESKTOP[1]}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return options


def start_browser():
    """Chromium under the system chromedriver; raises what Selenium raises when it cannot start."""
    # Selenium Manager would look for drivers online; with both paths given it is not needed.
    os.environ.setdefault("SE_OFFLINE", "true")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    service = Service(executable_path=CHROMEDRIVER, log_output=os.devnull)
    driver = webdriver.Chrome(service=service, options=chromium_options(webdriver))
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    set_viewport(driver, DESKTOP, mobile=False)
    return driver


def set_viewport(driver, size, mobile):
    width, height = size
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile,
        "screenWidth": width, "screenHeight": height})
    driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": mobile})


def set_color_scheme(driver, scheme):
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {
        "media": "", "features": [{"name": "prefers-color-scheme", "value": scheme}]})


def settle(driver):
    """Waits two animation frames, so that a layout change is drawn before a screenshot."""
    driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "requestAnimationFrame(() => requestAnimationFrame(() => done(true)));")


class Screenshots:
    """Writes console-VIEW-desktop.png, console-VIEW-phone.png (and -dark variants) to one folder."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.written = []

    def take(self, driver, view, dark=False, before=None, focus=None, desktop_focus=None):
        """Screenshots the current page at desktop and phone widths, light (and dark if asked).

        `before`, when given, is called after each resize (e.g. to reopen a dialog); `focus` is
        an element scrolled to the top of the phone's screen (`desktop_focus`: of the desktop's;
        else the desktop shot shows the top of the page)."""
        # A toast from an earlier step would cover part of the view: wait until it is gone.
        wait_until(lambda: not driver.execute_script(
            "const t = document.getElementById('toast'); return t && t.textContent.trim();"), 13)
        schemes = ["light", "dark"] if dark else ["light"]
        for scheme in schemes:
            set_color_scheme(driver, scheme)
            for label, size, mobile, target in (("desktop", DESKTOP, False, desktop_focus),
                                                ("phone", PHONE, True, focus)):
                set_viewport(driver, size, mobile)
                if before:
                    before()
                scroll_below_header(driver, target)
                settle(driver)
                if mobile:  # the page itself never scrolls sideways on a phone (wide parts scroll within)
                    widths = driver.execute_script(
                        "return [document.documentElement.scrollWidth, window.innerWidth];")
                    assert widths[0] <= widths[1], f"{view}: the page is {widths[0]} px wide on a {widths[1]} px phone"
                suffix = "" if scheme == "light" else "-dark"
                path = self.folder / f"console-{view}-{label}{suffix}.png"
                driver.save_screenshot(str(path))
                self.written.append(path)
        set_color_scheme(driver, "light")
        set_viewport(driver, DESKTOP, mobile=False)
        settle(driver)


def scroll_below_header(driver, css):
    """Scrolls the element `css` to just below the sticky header; None: to the top of the page."""
    driver.execute_script("""
        const target = arguments[0] && document.querySelector(arguments[0]);
        if (!target) { window.scrollTo(0, 0); return; }
        const header = document.querySelector('header');
        const offset = header ? header.getBoundingClientRect().height + 8 : 0;
        window.scrollTo(0, window.scrollY + target.getBoundingClientRect().top - offset);""", css)


def wait_until(condition, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False
