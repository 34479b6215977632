"""Print the socket.io frames a real Chromium sends and receives for a page visit: what
benchmarks/load.py mimics. Run it again after a Reflex upgrade.

    python benchmarks/capture_frames.py [/messages /labs ...]
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import seed, serve  # noqa: E402
from carespace_app import routes  # noqa: E402


def show(page, url: str, wait: str) -> None:
    frames = []

    def on_ws(ws):
        ws.on("framesent", lambda f: frames.append((">", f)))
        ws.on("framereceived", lambda f: frames.append(("<", f)))
    page.on("websocket", on_ws)
    page.goto(url)
    page.wait_for_selector(wait, timeout=60_000)
    page.wait_for_timeout(1500)
    page.remove_listener("websocket", on_ws)
    print(f"\n=== {url}")
    for direction, frame in frames:
        text = frame if isinstance(frame, str) else repr(frame)
        print(direction, text[:1500])


def main() -> None:
    from playwright.sync_api import sync_playwright

    paths = sys.argv[1:] or [routes.MESSAGES, routes.LABS]
    with tempfile.TemporaryDirectory() as tmp, serve.scratch_database("sqlite") as db_url, \
            serve.smtp() as mailbox, serve.carespace(db_url, mailbox, Path(tmp) / "cs") as server, \
            serve.bare(Path(tmp)) as bare, sync_playwright() as pw:
        person = seed.make_people(db_url, 1, items=3)[0]
        browser = pw.chromium.launch(executable_path=serve.harness.CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context()
        context.add_cookies([{"name": routes.SESSION_COOKIE, "value": person.token,
                              "url": server.base_url}])
        page = context.new_page()
        show(page, bare.base_url + "/", "text=Bare Reflex")
        page.get_by_role("button", name="Bump").click()
        page.wait_for_timeout(500)
        for path in paths:
            show(page, server.base_url + path, "main")
        browser.close()


if __name__ == "__main__":
    main()
