"""Checks of the built HTML: error outputs, outside assets, repeated scripts, browser console."""

from __future__ import annotations

import html
import re
from pathlib import Path

__all__ = ["MAX_SCRIPTS", "check_in_browser", "console_problems", "scan_html"]

_EXTERNAL = re.compile(
    r"<(script|link|img|iframe)\b[^>]*?\b(src|href)\s*=\s*[\"']((?:https?:)?//[^\"']+)", re.I
)
_ERROR_OUTPUT = re.compile(r"class=\"[^\"]*\b(traceback|output error)\b", re.I)
_SCRIPT = re.compile(r"<script\b[^>]*?\bsrc\s*=\s*[\"']([^\"'?#]+)", re.I)
#: A page that loads more scripts than this has picked up a library's whole tree (MathJax's
#: ``es5`` folder once put 70 scripts on every page).
MAX_SCRIPTS = 25


def scan_html(html_dir: Path) -> list[str]:
    """Problems in a built book: error outputs, scripts/styles/images loaded from elsewhere,
    scripts loaded twice, and pages loading more than :data:`MAX_SCRIPTS` scripts."""
    problems = []
    pages = sorted(p for p in Path(html_dir).rglob("*.html") if "_static" not in p.parts)
    if not pages:
        return [f"{html_dir}: no HTML pages (was the book built?)"]
    for page in pages:
        text = page.read_text(errors="replace")
        for match in _EXTERNAL.finditer(text):
            problems.append(f"{page}: external <{match[1]} {match[2]}={html.unescape(match[3])}>")
        if _ERROR_OUTPUT.search(text):
            problems.append(f"{page}: shows an error output")
        problems.extend(f"{page}: {problem}" for problem in _script_problems(text))
    return problems


def _script_problems(page_text: str) -> list[str]:
    """Scripts a page loads twice (by file name, so two copies of one library count too), and a
    count above :data:`MAX_SCRIPTS`."""
    sources = [html.unescape(match[1]) for match in _SCRIPT.finditer(page_text)]
    names = [source.rsplit("/", 1)[-1] for source in sources]
    problems = [
        f"script {name!r} loaded {names.count(name)} times"
        for name in sorted(set(names))
        if names.count(name) > 1
    ]
    if len(sources) > MAX_SCRIPTS:
        problems.append(f"loads {len(sources)} scripts (more than {MAX_SCRIPTS})")
    return problems


_CONSOLE = re.compile(r":CONSOLE[:(]\d+\)?\]? \"(.*)\", source: (\S*)")
#: Console messages that mean a script failed (Chromium's log does not print the level).
_CONSOLE_ERROR = re.compile(r"Uncaught|\b\w*Error\b|Failed to load")


def console_problems(chromium_log: str, dom: str, page_has_math: bool) -> list[str]:
    """Problems in what headless Chromium saw of one page: script errors in its console log
    (``--enable-logging=stderr``), and math that MathJax left unrendered in the final DOM."""
    problems = [
        f"console: {match[1]} ({match[2]})"
        for match in _CONSOLE.finditer(chromium_log)
        if _CONSOLE_ERROR.search(match[1])
    ]
    if page_has_math and "mjx-container" not in dom:
        problems.append("math is not rendered (no mjx-container in the page after loading)")
    return problems


def check_in_browser(page: Path, browser: str = "chromium", seconds: int = 10) -> list[str]:
    """Load ``page`` in headless ``browser`` and return :func:`console_problems`."""
    import subprocess

    page = Path(page).resolve()
    done = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            f"--virtual-time-budget={seconds * 1000}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=seconds * 6,
        check=False,
    )
    has_math = 'class="math' in page.read_text(errors="replace")
    return [f"{page}: {p}" for p in console_problems(done.stderr, done.stdout, has_math)]
