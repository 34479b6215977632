"""A first visit of the sign-in page in Chromium, next to the bare Reflex + Radix page.

    python benchmarks/first_visit.py [--runs 5]

Each run is a new browser context (empty cache, like a first visit). Reports the bytes
the browser received over HTTP (CDP encodedDataLength: what went over the wire, after
compression), the request count, the websocket bytes until the page was usable, and the
time from navigation until usable: the page's first control visible and enabled AND
the state hydrated over the websocket (before that a click does nothing). Medians of
--runs; writes benchmarks/results/first-visit-<time>.json.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import serve  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def visit(browser, url: str, control) -> dict:
    context = browser.new_context()
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    got = {"http": 0, "requests": 0, "ws": 0, "hydrated": None}

    def finished(event):
        got["http"] += event.get("encodedDataLength", 0)
        got["requests"] += 1

    cdp.on("Network.loadingFinished", finished)
    began = time.perf_counter()

    def on_ws(ws):
        def frame(payload):
            got["ws"] += len(payload) if got["hydrated"] is None else 0
            if got["hydrated"] is None and '"is_hydrated_rx_state_":true' in str(payload):
                got["hydrated"] = time.perf_counter() - began
        ws.on("framereceived", frame)

    page.on("websocket", on_ws)
    page.goto(url, wait_until="commit")
    locator = control(page)
    # Polled every 5 ms for both pages (locator.wait_for backs off to 100 ms and more
    # between its checks, which would count against whichever page shows its control late).
    deadline = time.time() + 60
    while not (got["hydrated"] is not None and locator.is_visible() and locator.is_enabled()) \
            and time.time() < deadline:
        page.wait_for_timeout(5)
    usable = time.perf_counter() - began
    page.wait_for_load_state("networkidle")
    context.close()
    return {"usable_ms": usable * 1000, "http_bytes": got["http"], "requests": got["requests"],
            "ws_bytes_until_usable": got["ws"]}


def median_of(runs: list[dict]) -> dict:
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    out = {}
    with tempfile.TemporaryDirectory(prefix="carespace-visit-") as tmp, serve.smtp() as mailbox, \
            serve.scratch_database("sqlite") as db_url, \
            serve.carespace(db_url, mailbox, Path(tmp) / "cs") as server, \
            serve.bare(Path(tmp)) as bare, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=serve.harness.CHROMIUM,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-quic"])
        pages = {
            "bare Reflex + Radix": (bare.base_url + "/", lambda p: p.get_by_role("button", name="Bump")),
            "CareSpace sign-in": (server.base_url + "/", lambda p: p.get_by_label("Email address")),
        }
        for name, (url, control) in pages.items():
            visit(browser, url, control)  # the server's first render and caches
            out[name] = median_of([visit(browser, url, control) for _ in range(args.runs)])
        browser.close()
    print(f"\nFIRST VISIT in Chromium (new context each run, cache disabled), median of {args.runs}")
    print(f"  {'page':<22}{'HTTP KiB':>10}{'requests':>10}{'ws KiB':>9}{'usable ms':>11}")
    for name, r in out.items():
        print(f"  {name:<22}{r['http_bytes'] / 1024:>10.1f}{r['requests']:>10.0f}"
              f"{r['ws_bytes_until_usable'] / 1024:>9.1f}{r['usable_ms']:>11.0f}")
    bare_r, cs = out["bare Reflex + Radix"], out["CareSpace sign-in"]
    print(f"  CareSpace / bare: bytes {cs['http_bytes'] / bare_r['http_bytes']:.2f}x, "
          f"time to usable {cs['usable_ms'] / bare_r['usable_ms']:.2f}x")
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"first-visit-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(out, indent=2))
    print(f"written: {path}")


if __name__ == "__main__":
    main()
