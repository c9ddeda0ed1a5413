"""A Sphinx extension that keeps the launch buttons only where they can work.

Binder and Colab open a chapter from the book's repository, whose address the publisher sets
once, as ``repository.url`` in ``_config.yml``. Without it the buttons would point nowhere, so
the build leaves them out and says so in its log (an information message, not a warning: a
build without an address is normal for a local copy).
"""

from __future__ import annotations

from typing import Any

from sphinx.util import logging

LOGGER = logging.getLogger(__name__)


def _without_address(app: Any, config: Any) -> None:
    options = config.html_theme_options
    if options.get("repository_url") or not options.get("launch_buttons"):
        return
    options["launch_buttons"] = {}
    LOGGER.info(
        "launch buttons (Binder, Colab) left out: set the repository's address as "
        "repository.url in _config.yml to show them"
    )


def setup(app: Any) -> dict[str, object]:
    app.connect("config-inited", _without_address, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
