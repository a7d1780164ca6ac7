"""Debian's Chromium driven by Playwright, with every request recorded."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@contextmanager
def browser_page(
    width: int = 1366, height: int = 768, mobile: bool = False
) -> Iterator[tuple[object, list[str], list[str]]]:
    """Yield (page, requested URLs, console errors); `mobile` emulates a phone (touch, meta viewport, 2× pixels)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page(
            viewport={"width": width, "height": height},
            locale="zh-CN",
            is_mobile=mobile,
            has_touch=mobile,
            device_scale_factor=2 if mobile else 1,
        )
        requests: list[str] = []
        errors: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        try:
            yield page, requests, errors
        finally:
            browser.close()


def screenshot(page: object, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path))  # type: ignore[attr-defined]
    return path


@contextmanager
def chromium() -> Iterator[object]:
    """Yield one headless Debian Chromium for a whole test module (pages come from `open_page`)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Tab:
    """A page in its own browser context (its own cookies), with every request and console error recorded."""

    def __init__(self, browser: object, width: int = 1366, height: int = 768, mobile: bool = False) -> None:
        self.context = browser.new_context(  # type: ignore[attr-defined]
            viewport={"width": width, "height": height},
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
            is_mobile=mobile,
            has_touch=mobile,
            device_scale_factor=2 if mobile else 1,
            accept_downloads=True,
        )
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def close(self) -> None:
        self.context.close()


class Shots:
    """Numbered screenshots of a journey's steps under tests/artifacts/journeys/<journey>/ (git-ignored)."""

    def __init__(self, journey: str) -> None:
        self.folder = ARTIFACTS / "journeys" / journey
        if self.folder.exists():
            for old in self.folder.glob("*.png"):
                old.unlink()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.n = 0

    def __call__(self, page: object, step: str, full_page: bool = False, at: str | None = None) -> Path:
        """Photograph the page (the whole document with `full_page`; `at`: a selector scrolled into view first)."""
        self.n += 1
        path = self.folder / f"{self.n:02d}_{step}.png"
        if at is not None:
            page.locator(at).first.scroll_into_view_if_needed()  # type: ignore[attr-defined]
            page.wait_for_timeout(150)  # type: ignore[attr-defined]
        page.screenshot(path=str(path), full_page=full_page)  # type: ignore[attr-defined]
        return path


REFUSED = re.compile(r"^Failed to load resource: the server responded with a status of (\d{3})")


def console_problems(errors: list[str]) -> tuple[list[int], list[str]]:
    """Split a page's console errors into the statuses of pages refused on purpose (a 422 form, a 409 step, shown
    to the person as a page) and everything else (which a journey must not have)."""
    statuses = [int(m.group(1)) for e in errors if (m := REFUSED.match(e))]
    return statuses, [e for e in errors if not REFUSED.match(e)]
