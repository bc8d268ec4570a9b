"""The desktop's pages as files: every word they show is in both languages' catalogues, no inline
script or handler (the server's CSP allows `script-src 'self'` only), every asset from the daemon
itself (nothing fetched from elsewhere at run time), and the landmarks a screen reader expects.

The browser tests (tests/integration/test_desktop_browser.py) check the pages working, in Chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "ivr" / "desktop" / "static"
PAGES = ("login.html", "agent.html", "supervisor.html")
# The page scripts of this floor (softphone.js and vendor/ are the browser phone's, tested with it).
SCRIPTS = ("api.js", "i18n.js", "login.js", "agent.js", "supervisor.js")


def catalogue() -> dict[str, dict[str, str]]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed (scripts/setup installs Debian's nodejs)")
    done = subprocess.run(
        [node, "--no-warnings", "--input-type=module", "-e",
         f"import {{CATALOGUE}} from {json.dumps((STATIC / 'i18n.js').as_uri())};"
         "console.log(JSON.stringify(CATALOGUE))"],
        capture_output=True, text=True, timeout=30, check=True)
    result: dict[str, dict[str, str]] = json.loads(done.stdout)
    return result


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.inline_script = False
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_script = True


def parsed(name: str) -> Page:
    page = Page()
    page.feed((STATIC / name).read_text(encoding="utf-8"))
    return page


def test_swedish_and_english_have_the_same_words() -> None:
    words = catalogue()
    assert set(words) == {"sv", "en"}
    assert set(words["sv"]) == set(words["en"])
    assert all(text.strip() for language in words.values() for text in language.values())
    # The same placeholders in both languages.
    for key, text in words["sv"].items():
        assert set(re.findall(r"\{(\w+)\}", text)) == set(re.findall(r"\{(\w+)\}", words["en"][key])), key


def test_every_key_the_pages_use_is_in_the_catalogue() -> None:
    words = catalogue()["sv"]
    used: set[str] = set()
    for name in PAGES:
        for _, attrs in parsed(name).tags:
            if attrs.get("data-i18n"):
                used.add(str(attrs["data-i18n"]))
    for name in SCRIPTS:
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_.]+)["']""", (STATIC / name).read_text(encoding="utf-8")))
    missing = sorted(key for key in used if key not in words)
    assert not missing
    # Keys put together at run time: states, call states, devices, spy states, modes.
    built = {"state": ["available", "ringing", "busy", "wrapup", "paused", "unavailable", "logged_out"],
             "call.state": ["ringing", "answered", "ended", "wrapup"], "device": ["desk", "browser"],
             "spy": ["ringing", "active", "ended", "failed"], "sup": ["listen", "whisper", "barge"]}
    for prefix, names in built.items():
        assert all(f"{prefix}.{n}" in words for n in names), prefix


@pytest.mark.parametrize("name", PAGES)
def test_pages_have_no_inline_script_and_load_only_their_own_files(name: str) -> None:
    page = parsed(name)
    assert not page.inline_script
    for tag, attrs in page.tags:
        assert not any(key.startswith("on") for key in attrs), (tag, attrs)  # no onclick= and such
        assert "style" not in attrs, (tag, attrs)
        for key in ("src", "href"):
            value = attrs.get(key)
            if value is not None and tag in ("script", "link", "img"):
                assert str(value).startswith("/desk/static/"), (tag, value)
    scripts = [attrs for tag, attrs in page.tags if tag == "script"]
    assert scripts and all(attrs.get("type") == "module" for attrs in scripts)


@pytest.mark.parametrize("name", PAGES)
def test_pages_have_language_title_landmarks_and_a_skip_link(name: str) -> None:
    page = parsed(name)
    tags = [tag for tag, _ in page.tags]
    assert ("html", {"lang": "sv"}) in page.tags
    assert "title" in tags and "main" in tags and "header" in tags and "h1" in tags
    links = [attrs for tag, attrs in page.tags if tag == "a"]
    assert links and links[0].get("href") == "#main" and links[0].get("class") == "skip"
    ids = [attrs["id"] for _, attrs in page.tags if attrs.get("id")]
    assert len(ids) == len(set(ids))
    labelled = {attrs.get("for") for tag, attrs in page.tags if tag == "label"}
    for tag, attrs in page.tags:  # every text field and list has its label
        if tag in ("select", "input") and attrs.get("type") not in ("radio", "checkbox", "hidden"):
            assert attrs.get("id") in labelled, (name, attrs)


def test_scripts_fetch_nothing_from_elsewhere() -> None:
    for name in (*SCRIPTS, "desk.css"):
        text = (STATIC / name).read_text(encoding="utf-8")
        assert not re.search(r"https?://", text), name
        assert "innerHTML" not in text and "eval(" not in text, name
