"""Debian's headless Chromium for the site checks: one way to start it."""

import shutil

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
)


def start(window: str, *flags: str, capabilities: dict | None = None):
    """A Chromium driver with :data:`FLAGS`, ``--window-size=window``, ``flags`` and ``capabilities``."""
    from selenium import webdriver  # noqa: PLC0415 - optional: the [test] extra, needed by the site checks only
    from selenium.webdriver.chrome.service import Service  # noqa: PLC0415 - optional: the [test] extra

    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver_path, "Debian's chromium and chromium-driver must be installed (make browser)"
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in (*FLAGS, f"--window-size={window}", *flags):
        opts.add_argument(flag)
    for key, value in (capabilities or {}).items():
        opts.set_capability(key, value)
    driver = webdriver.Chrome(service=Service(driver_path), options=opts)
    driver.set_page_load_timeout(60)
    return driver
