"""The real page in a real browser: Streamlit server on loopback, Debian's chromium headless."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests._server import CHROMIUM, FLAGS, ROOT, streamlit_server

pytestmark = pytest.mark.slow

SHOTS = ROOT / "docs" / "screenshots"

if not Path(CHROMIUM).exists():
    pytest.skip("chromium is not installed (.ci/run installs it)", allow_module_level=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from tests.conftest import copy_seed

    root = tmp_path_factory.mktemp("browser")
    corpus = copy_seed(root / "corpus")
    (corpus / "payload.html").write_text(
        "<html><body><h1>Payload test</h1><p>A statement about grain exports. "
        "&lt;script&gt;window.pwned=1&lt;/script&gt; "
        "&lt;img src=x onerror=\"window.pwned=2\"&gt; "
        "&lt;a href=\"javascript:window.pwned=3\"&gt;link&lt;/a&gt;</p></body></html>")
    with streamlit_server(corpus, root / "index") as url:
        yield url, corpus


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(server[0])
        page.get_by_placeholder("Ask the documents…").wait_for(timeout=120_000)
        yield page
        browser.close()


def ask(page, question: str) -> None:
    box = page.get_by_placeholder("Ask the documents…")
    box.fill(question)
    box.press("Enter")


def test_ask_expand_verify_upload_and_inert_payload(page, server):
    _, corpus = server

    ask(page, "Which allies did Kazakhstan ask for assistance?")
    citation = page.get_by_text("[1] President Kassym-Jomart Tokayev").first
    citation.wait_for(timeout=60_000)
    assert page.get_by_text("CSTO").first.is_visible()
    page.screenshot(path=str(SHOTS / "ask.png"), full_page=True)

    citation.click()
    mark = page.locator("mark").first
    mark.wait_for(timeout=30_000)
    assert "CSTO" in mark.inner_text()
    page.screenshot(path=str(SHOTS / "citation.png"), full_page=True)

    page.get_by_role("tab", name="Verify a quote").click()
    page.get_by_role("textbox", name="Quote").fill("I head up the counter-terrorism command.")
    page.get_by_role("button", name="Check", exact=True).click()
    page.get_by_text("verbatim").first.wait_for(timeout=60_000)
    page.get_by_role("textbox", name="Quote").fill("I head up the anti-terrorism command.")
    page.get_by_role("button", name="Check", exact=True).click()
    page.locator("ins", has_text="anti").first.wait_for(timeout=60_000)
    assert page.locator("del", has_text="counter").first.is_visible()
    page.screenshot(path=str(SHOTS / "verify.png"), full_page=True)

    page.get_by_role("tab", name="Library").click()
    # one upload limit, the documents' own (50 MB by default), and no developer toolbar
    page.get_by_text("up to 50 MB").first.wait_for(timeout=30_000)
    assert page.get_by_text("200MB").count() == 0
    assert page.get_by_text("50MB").count() >= 1
    assert page.get_by_role("button", name="Deploy").count() == 0
    upload = corpus.parent / "upload" / "wheat-2023.txt"
    upload.parent.mkdir(exist_ok=True)
    upload.write_text("Wheat harvest\n\nMarch 3, 2023\n\nThe wheat harvest in Kostanay "
                      "region reached a record nineteen million tonnes.\n")
    # the last file input: the Verify tab has one too, for batches of quotes
    page.locator("input[type=file]").last.set_input_files(str(upload))
    page.wait_for_timeout(1000)  # let the browser finish sending the file
    page.get_by_role("button", name="Add to the corpus").click()
    try:
        page.get_by_text("1 added").first.wait_for(timeout=180_000)
    finally:
        page.screenshot(path=str(SHOTS / "library.png"), full_page=True)
    assert (corpus / "wheat-2023.txt").exists()

    page.get_by_role("tab", name="Ask").click()
    ask(page, "How large was the wheat harvest in Kostanay?")
    page.get_by_text("nineteen million tonnes").first.wait_for(timeout=60_000)

    ask(page, "What did the statement about grain exports contain?")
    # the third exchange is drawn above the input, which stays below the whole conversation
    page.wait_for_function(
        "document.querySelectorAll(\"[data-testid='stChatMessage']\").length >= 6",
        timeout=60_000)
    page.get_by_text("[1]").last.wait_for(timeout=60_000)
    last_message = page.locator("[data-testid='stChatMessage']").last.bounding_box()
    chat_input = page.get_by_placeholder("Ask the documents…").bounding_box()
    assert chat_input["y"] >= last_message["y"] + last_message["height"]
    for expander in page.get_by_text("Payload test").all():
        expander.click()
    page.wait_for_timeout(1000)
    assert page.evaluate("window.pwned") is None
    assert page.locator("script:has-text('pwned')").count() == 0
    assert page.locator("img[onerror]").count() == 0
