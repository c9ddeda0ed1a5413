"""A Sphinx extension that puts each script on a page once.

sphinx-thebe and sphinx-togglebutton (which Jupyter Book 1.x always enables) register their inline
configuration scripts twice, once with no file name and once with an empty one, so every page
declared ``const THEBE_JS_URL`` twice and the browser reported "Identifier 'THEBE_JS_URL' has
already been declared". Scripts are compared by file name (empty and missing alike) and body.
"""

from __future__ import annotations

from typing import Any


def _drop_repeated_scripts(
    app: Any, pagename: str, templatename: str, context: dict, doctree: Any
) -> None:
    scripts = context.get("script_files", [])
    seen: set[tuple[str, str]] = set()
    unique = []
    for script in scripts:
        key = (str(script.filename or ""), str(script.attributes.get("body", "")))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    # In place: the list is the builder's own, to which later handlers (MathJax) still add.
    scripts[:] = unique


def setup(app: Any) -> dict[str, object]:
    app.connect("html-page-context", _drop_repeated_scripts, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
