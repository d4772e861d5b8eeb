"""``make screenshots``: a picture of each main page of the demo, for the README.

Starts the demo (``walletbridge run`` on a fresh SQLite file), signs in as a README account of each
bank, and saves desktop pictures in English (Harbour Bank) and Chinese (Lotus Bank) and phone
pictures (390×844) under the folder given (``docs/screenshots``). Run it again after changing a
page; the pictures are regenerated from scratch.

    python -m tests.e2e.browser.screenshots docs/screenshots
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

from tests.e2e.browser.demo_server import CHROMIUM, CHROMIUM_ARGS, DemoServer, demo_server

DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
SIGNED_IN_PAGES = [
    ("dashboard", "/"),
    ("send", "/send"),
    ("requests", "/requests"),
    ("history", "/history"),
    ("payees", "/payees"),
    ("settings", "/settings"),
]


def sign_in(page: Page, demo: DemoServer, bank: str, login: str, password: str) -> None:
    page.goto(demo.url(bank, "/signin"))
    page.fill("#f-login", login)
    page.fill("#f-password", password)
    page.locator("form[action='/signin'] button[type=submit]").click()
    page.wait_for_url(demo.url(bank, "/"))


def shoot(page: Page, folder: Path, name: str) -> None:
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
    print(f"saved {folder / name}.png")


def desktop_set(browser: Browser, demo: DemoServer, folder: Path, locale: str) -> None:
    bank, login, password = (
        ("lotus", "li.wei", "lotus-demo-2026")
        if locale == "zh-CN"
        else ("harbour", "anna", "harbour-demo-2026")
    )
    context = browser.new_context(viewport=DESKTOP, locale=locale)  # type: ignore[arg-type]
    page = context.new_page()
    page.goto(demo.url(bank, "/signin"))
    shoot(page, folder, f"{locale}-signin")
    sign_in(page, demo, bank, login, password)
    for name, path in SIGNED_IN_PAGES:
        page.goto(demo.url(bank, path))
        shoot(page, folder, f"{locale}-{name}")
    page.goto(demo.url(bank, "/history"))
    detail = page.locator("a[href^='/history/']:not([href^='/history/export'])").first
    if detail.count():
        detail.click()
        shoot(page, folder, f"{locale}-transaction")
    context.close()


def phone_set(browser: Browser, demo: DemoServer, folder: Path) -> None:
    context = browser.new_context(viewport=PHONE, locale="en-GB", is_mobile=True, has_touch=True)
    page = context.new_page()
    sign_in(page, demo, "harbour", "ben", "harbour-demo-2026")
    for name, path in (("dashboard", "/"), ("send", "/send")):
        page.goto(demo.url("harbour", path))
        shoot(page, folder, f"phone-{name}")
    context.close()


def main(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    with (
        tempfile.TemporaryDirectory() as var_dir,
        demo_server(Path(var_dir)) as demo,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            desktop_set(browser, demo, folder, "en")
            desktop_set(browser, demo, folder, "zh-CN")
            phone_set(browser, demo, folder)
        finally:
            browser.close()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"))
