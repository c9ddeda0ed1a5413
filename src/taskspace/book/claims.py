"""The claim report: every claim the chapters recorded, and the ones a run made false.

``make book`` prints it after executing the chapters; at scale ``book`` a failed claim fails the
run (the committed page would state something its own outputs contradict). At other scales the
report is printed and nothing is enforced.
"""

from __future__ import annotations

from pathlib import Path

from taskspace.results import CLAIM_PREFIX, failed_claims, load_all

__all__ = ["claim_report"]


def claim_report(results_dir: Path, chapters: list[str] | None = None) -> tuple[str, int]:
    """A plain-text report of the claims under ``results_dir`` and the number that failed.

    Args:
        results_dir: the folder of ``<chapter>.json`` results files.
        chapters: chapter stems to report on (default: every file there).
    """
    lines, n_failed = [], 0
    for chapter, entries in load_all(results_dir).items():
        if chapters is not None and chapter not in chapters:
            continue
        claims = {key: entry for key, entry in entries.items() if key.startswith(CLAIM_PREFIX)}
        failed = failed_claims(entries)
        n_failed += len(failed)
        lines.append(f"{chapter}: {len(claims) - len(failed)} of {len(claims)} claims hold")
        for key, entry in failed.items():
            numbers = ", ".join(
                f"{name} = {value:.4g}" for name, value in entry.get("numbers", {}).items()
            )
            lines.append(f"  DOES NOT HOLD {key[len(CLAIM_PREFIX) :]}: {entry['note']} ({numbers})")
    return "\n".join(lines) + "\n", n_failed
