"""Full-page screenshot of the explorer with the headline case (Kimi K2, 1M users at 50 tok/s),
1400 px wide, in headless Chromium: writes docs/explorer.png.

Run: python scripts/explorer_screenshot.py [--out docs/explorer.png] [--query 'model=deepseek-r1']
"""

import argparse
import socket
import threading
import time
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"


def start_server():
    """The app under uvicorn in a daemon thread on a free loopback port; its base URL."""
    import uvicorn

    from servecost.web.app import create_app
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "docs" / "explorer.png"))
    parser.add_argument("--query", default="", help="Query string of the scenario (default: the headline case).")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    url = start_server()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{url}/?{args.query}")
        page.wait_for_function("document.getElementById('status').textContent.startsWith('updated')")
        page.click("#simulate")      # the simulation card filled in for the cheapest row
        page.wait_for_function("document.getElementById('sim-note').dataset.state === 'done'", timeout=120_000)
        page.wait_for_timeout(500)
        page.screenshot(path=args.out, full_page=True)
        browser.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
