"""Watches a page for what a person would not see but must not happen: Content-Security-Policy
violations (an inline script or style slipping in), script errors, and a script, style sheet,
image or htmx request that failed. A page answering a form with 4xx is expected (a refused
form is shown again with its messages), so documents are not counted."""

from __future__ import annotations

from playwright.sync_api import ConsoleMessage, Page, Response


class Watch:
    def __init__(self, page: Page) -> None:
        self.problems: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("response", self._response)

    def _console(self, message: ConsoleMessage) -> None:
        text = message.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            self.problems.append(f"CSP: {text}")
        elif message.type == "error" and not text.startswith("Failed to load resource"):
            self.problems.append(f"console error: {text}")

    def _response(self, response: Response) -> None:
        request = response.request
        if request.resource_type != "document" and response.status >= 400:
            self.problems.append(f"{response.status} for {request.resource_type} {request.url}")

    def assert_clean(self) -> None:
        assert self.problems == [], self.problems
