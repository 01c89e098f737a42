"""The session every console test shares: one server, one browser, the key entered once."""

import os
import re
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402


class Console:
    """The browser on the console page, with the helpers the tests use."""

    def __init__(self, driver, server, shots):
        self.driver = driver
        self.server = server
        self.shots = shots
        # Every browser console entry of the run (get_log drains Chromium's buffer: keep them all).
        self.logs = []
        # Entries we expect and ignore (see `enter_key`), and how many each key entry found.
        self.expected = []
        self.expected_per_entry = []

    # -- waiting and finding -----------------------------------------------------------------

    def wait(self, condition, timeout=15, message="condition", interval=0.05):
        """Polls `condition()` until it returns something truthy; returns it."""
        deadline = time.time() + timeout
        last_error = None
        while time.time() < deadline:
            try:
                value = condition()
                if value:
                    return value
            except Exception as error:  # a stale element while the page re-renders
                last_error = error
            time.sleep(interval)
        raise AssertionError(f"timed out after {timeout}s waiting for {message}"
                             + (f" (last error: {last_error})" if last_error else ""))

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def find(self, css):
        from selenium.webdriver.common.by import By
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css, within=None):
        from selenium.webdriver.common.by import By
        return (within or self.driver).find_elements(By.CSS_SELECTOR, css)

    def visible(self, css):
        elements = self.find_all(css)
        return elements and elements[0].is_displayed()

    def dialog_open(self, css):
        return bool(self.js("const d = document.querySelector(arguments[0]); return !!(d && d.open);", css))

    def text(self, css):
        return self.js("const e = document.querySelector(arguments[0]); return e ? e.textContent : null;", css)

    def load(self, path="/"):
        """Loads a page of the console afresh (a real load, not a hash change) and installs the
        recorders of CSP violations and error toasts (harness.PAGE_RECORDER)."""
        self.driver.get("about:blank")
        self.driver.get(self.server.url(path))
        self.wait(lambda: self.js("return document.readyState === 'complete' && !!document.getElementById('toast');"),
                  message="the page to load")
        self.js(harness.PAGE_RECORDER)

    def drain_logs(self):
        entries = self.driver.get_log("browser")
        self.logs.extend(entries)
        return entries

    # -- navigating ----------------------------------------------------------------------------

    def go(self, view):
        """Clicks the view's nav link and waits until its section is the one shown."""
        link = self.find(f'nav[aria-label="Console"] a[href="#/{view}"]')
        self.click(link)
        self.wait(lambda: self.js(
            "const s = document.getElementById('view-' + arguments[0]);"
            "return s && !s.hidden && s.offsetParent !== null;", view), message=f"view {view} shown")
        self.wait(lambda: link.get_attribute("aria-current") == "page", message=f"{view} link current")

    def select_value(self, css, value, timeout=15):
        """Picks the option `value` of a <select> once it is there, as a user would."""
        from selenium.webdriver.support.ui import Select
        self.wait(lambda: self.find_all(f"{css} option[value='{value}']"), timeout,
                  f"option {value} in {css}")
        Select(self.find(css)).select_by_value(value)

    def set_field(self, css, value):
        """Replaces a field's text by typing, as a user would (so `input` events fire)."""
        from selenium.webdriver.common.keys import Keys
        field = self.find(css)
        self.scroll_to(field)
        field.send_keys(Keys.CONTROL, "a")
        field.send_keys(Keys.BACKSPACE)
        if str(value):
            field.send_keys(str(value))

    def scroll_to(self, element):
        # Centred, so that the sticky header never covers what is clicked next.
        self.js("arguments[0].scrollIntoView({block: 'center', inline: 'nearest'});", element)

    def click(self, css_or_element):
        element = self.find(css_or_element) if isinstance(css_or_element, str) else css_or_element
        self.scroll_to(element)
        element.click()

    def record_states(self, css, name):
        """Starts recording every value `data-state` of `css` takes into window[name]."""
        self.js("""
            const element = document.querySelector(arguments[0]);
            window[arguments[1]] = [element.getAttribute('data-state')];
            new MutationObserver(() => {
              const states = window[arguments[1]];
              const state = element.getAttribute('data-state');
              if (states[states.length - 1] !== state) states.push(state);
            }).observe(element, {attributes: true, attributeFilter: ['data-state']});
        """, css, name)

    # -- the key -------------------------------------------------------------------------------

    def enter_key(self, load=True):
        """Opens the console without a key, as a first visit does, and enters it in the dialog
        (`load=False`: the page is already asking for it)."""
        if load:
            self.load("/")
        self.wait(lambda: self.dialog_open("#key-dialog"), message="the key dialog (opened by a 401)")
        # The console's first call, GET /info, is refused with 401 because keys exist and none is
        # stored yet: that is what opens the dialog. Chromium logs that refused request as a
        # SEVERE "Failed to load resource" entry. That one entry — /info, 401, before the key was
        # entered — is expected; any other entry, before or after, fails the console-error test.
        info_401 = re.compile(re.escape(self.server.url("/info"))
                              + r" - Failed to load resource: the server responded with a status of 401")
        found = [entry for entry in self.drain_logs()
                 if entry["level"] == "SEVERE" and info_401.match(entry["message"])]
        self.expected.extend(found)
        self.expected_per_entry.append(len(found))
        field = self.find("#key-input")
        assert field.get_attribute("type") == "password"
        field.send_keys(self.server.key)
        self.click("#key-save")
        self.wait(lambda: not self.dialog_open("#key-dialog"), message="the key dialog to close")
        stored = self.js("return Object.values(sessionStorage).some(v => v === arguments[0]);", self.server.key)
        assert stored, "the key is kept in sessionStorage"
        assert self.js("return document.cookie;") == "" and self.server.key not in self.driver.current_url, \
            "the key is in no cookie and not in the URL"
        self.wait(lambda: "admin" in (self.text("#whoami") or ""), message="the header to show the key's role")


@pytest.fixture(scope="session")
def console():
    server = harness.Server().start()
    driver = None
    try:
        driver = harness.start_browser()
        shots = harness.Screenshots(os.environ.get("SCREENSHOTS") or harness.ROOT / ".build/console-screenshots")
        page = Console(driver, server, shots)
        page.enter_key()
        yield page
    finally:
        if driver is not None:
            driver.quit()
        server.stop()


@pytest.fixture(autouse=True)
def no_dialog_left_open(console):
    """Closes a dialog a failed test left open, so that one failure does not fail the tests after it."""
    yield
    console.js("document.querySelectorAll('dialog[open]').forEach(d => d.close());")
