"""GraphiQL in a real browser (Debian's Chromium, driven by Playwright): the editor renders from
the product's own assets, and the page makes no request that leaves the service."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.graphiql import assets_built
from app.settings import load_settings
from app.web import create_app
from tests.conftest import IN_CI
from tests.support.server import serving

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SECRET = "test-secret-key-that-is-long-enough-0123456789"
SHOTS = Path(os.environ.get("FLEETGRAPH_SCREENSHOTS", "/tmp"))


def require_browser() -> None:
    if not os.path.exists(CHROMIUM) or not assets_built():
        if IN_CI or os.environ.get("FLEETGRAPH_TEST_BROWSER"):
            pytest.fail("the browser tests need /usr/bin/chromium and the GraphiQL assets (make assets)")
        pytest.skip("no Chromium or no GraphiQL assets here")


@pytest.fixture
async def base(tmp_path: Path) -> AsyncIterator[str]:
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'g.db'}", secret_key=SECRET,
                             cluster_health_seconds=0, operation_workers=0)  # fmt: skip
    async with serving(create_app(settings)) as url:
        yield url


async def test_graphiql_renders_with_no_external_request(base: str) -> None:
    require_browser()
    from playwright.async_api import async_playwright

    requested: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],  # fmt: skip
        )
        try:
            page = await browser.new_page()
            page.on("request", lambda request: requested.append(request.url))
            await page.goto(f"{base}/graphql", wait_until="networkidle")
            await page.wait_for_selector(".graphiql-container .graphiql-query-editor .CodeMirror", timeout=30_000)
            editor = await page.inner_text(".graphiql-query-editor")
            await page.screenshot(path=str(SHOTS / "fleetgraph-graphiql.png"))
        finally:
            await browser.close()
    assert "SignIn" in editor and "MyClusters" in editor
    assert requested, "the page made no request at all"
    outside = [url for url in requested if not url.startswith(base) and not url.startswith("data:")]
    assert outside == []
    assert f"{base}/static/graphiql/graphiql.js" in requested


async def test_home_page_links_what_is_served(base: str) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=base) as http:
        page = await http.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        for href in ("/graphql", "/docs", "/health", "/metrics"):
            assert f"href='{href}'" in page.text
        ide = await http.get("/graphql", headers={"Accept": "text/html"})
        assert "/static/graphiql/graphiql.js" in ide.text and "unpkg" not in ide.text and "jsdelivr" not in ide.text
        asset = await http.get("/static/graphiql/graphiql.js")
        assert asset.status_code == 200 and len(asset.content) > 100_000


async def test_the_api_docs_page_lists_the_rest_paths_with_no_external_request(base: str) -> None:
    require_browser()
    from playwright.async_api import async_playwright

    requested: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = await browser.new_page()
            page.on("request", lambda request: requested.append(request.url))
            await page.goto(f"{base}/docs", wait_until="networkidle")
            summaries = await page.locator("details summary").all_inner_texts()
            await page.locator("details summary").first.click()
            opened = await page.locator("details[open] table").count()
        finally:
            await browser.close()
    assert any("/api/provider/tenants" in s for s in summaries), summaries[:5]
    assert opened >= 1
    assert [url for url in requested if not url.startswith(base)] == []
