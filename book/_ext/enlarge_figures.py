"""A Sphinx extension that lets a reader open every figure at full size.

Chapter figures are drawn wider than the text column and shrunk to fit it; a click on one opens
the image itself in a new tab, where every label reads at full size.
"""

from __future__ import annotations

from typing import Any

_SCRIPT = """
document.addEventListener("DOMContentLoaded", () => {
  for (const image of document.querySelectorAll("figure img, div.cell_output img")) {
    if (image.closest("a")) continue;
    const link = document.createElement("a");
    link.href = image.src;
    link.target = "_blank";
    link.title = "Open the figure at full size";
    image.replaceWith(link);
    link.appendChild(image);
  }
});
"""


def setup(app: Any) -> dict[str, object]:
    app.add_js_file(None, body=_SCRIPT)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
