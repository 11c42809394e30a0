"""In headless Chromium with the network off: /docs and /redoc render from local files; the explorer
ignores bad URL parameters with a note, clears a simulation that no longer matches the plan, and
keeps the deployment column and the accelerator list reachable at 1366x768. Skipped without
/usr/bin/chromium or playwright."""

from urllib.parse import urlparse

import pytest

UPDATED = "document.getElementById('status').textContent.startsWith('updated')"


@pytest.fixture
def offline_page(browser):
    """A page whose requests anywhere but this machine fail, as with the network off."""
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    outside = []

    def only_local(route):
        if urlparse(route.request.url).hostname in ("127.0.0.1", "localhost"):
            return route.continue_()
        outside.append(route.request.url)
        return route.abort("internetdisconnected")

    context.route("**/*", only_local)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert not outside, outside
    assert not errors


def test_swagger_ui_renders_offline(offline_page, base_url):
    offline_page.goto(base_url + "/docs")
    offline_page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)
    assert offline_page.locator(".swagger-ui .opblock").count() >= 10


def test_redoc_renders_offline(offline_page, base_url):
    offline_page.goto(base_url + "/redoc")
    offline_page.wait_for_function("document.body.innerText.includes('/api/plan')", timeout=20_000)


def test_bad_url_parameters_are_ignored_with_a_note(offline_page, base_url):
    offline_page.goto(base_url + "/?metric=bogus&users=abc&engine=tensorflow&hardware=nope")
    offline_page.wait_for_function(UPDATED, timeout=60_000)
    note = offline_page.text_content("#error")
    assert "ignored" in note and "metric" in note and "users" in note and "engine" in note
    assert offline_page.locator("#plan tbody tr.option").count() > 3
    assert "metric=" not in offline_page.url


def test_simulation_is_cleared_by_a_new_plan(offline_page, base_url):
    offline_page.goto(base_url + "/?model=llama-3.1-8b&hardware=h100-sxm&users=1000")
    offline_page.wait_for_function(UPDATED, timeout=60_000)
    offline_page.click("#simulate")
    offline_page.wait_for_function("document.querySelectorAll('#sim tbody tr').length === 2", timeout=60_000)
    before = offline_page.evaluate("document.getElementById('status').dataset.run")
    offline_page.fill("#users", "2000")
    offline_page.wait_for_function(f"{UPDATED} && document.getElementById('status').dataset.run !== '{before}'",
                                   timeout=60_000)
    assert offline_page.locator("#sim tbody tr").count() == 0


def test_deployment_column_and_accelerators_fit_1366x768(offline_page, base_url):
    offline_page.goto(base_url + "/?model=llama-3.1-70b")
    offline_page.wait_for_function(UPDATED, timeout=60_000)
    width = offline_page.evaluate("window.innerWidth")
    right = offline_page.evaluate("document.querySelector('#plan td.deploy').getBoundingClientRect().right")
    assert right <= width, (right, width)
    last = offline_page.locator("#hardware input").last
    last.scroll_into_view_if_needed()
    assert last.is_visible()
    box = last.bounding_box()
    assert box and 0 <= box["y"] and box["y"] + box["height"] <= 768


def test_a_pasted_chip_is_planned_beside_the_ticked_ones(offline_page, base_url):
    import json
    import urllib.parse
    chip = {"id": "my-chip", "family": "gpu", "bf16_tflops": 3000, "fp8_tflops": 6000, "hbm_gib": 256,
            "hbm_gb_per_s": 12000, "scaleup_domain_chips": 72, "scaleup_gb_per_s_per_dir": 1800,
            "scaleout_gb_per_s_per_dir": 100, "tdp_w": 1500, "idle_w": 250, "chip_price_usd": 50000}
    chips = urllib.parse.quote(json.dumps([chip]))
    offline_page.goto(base_url + f"/?model=llama-3.1-8b&hardware=h100-sxm&users=1000&chips={chips}")
    offline_page.wait_for_function(UPDATED, timeout=60_000)
    rows = offline_page.locator("#plan tbody tr").all_inner_texts()
    assert any("my-chip" in r for r in rows) and any("h100-sxm" in r for r in rows), rows
