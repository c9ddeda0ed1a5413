"""Tables and the bar chart of chapter 6: the baselines beside Task2Box and the paper's numbers.

Scores come from the chapter as plain arrays, one row per random draw:

* Taskonomy (table 3): ``rho[method][field]`` is ``(R,)`` Spearman's rho, ``field`` one of
  :data:`TASKONOMY_FIELDS`.
* Hierarchies (tables 1 and 2): ``scores[(method, representation)]`` is ``(R, 3)`` F1 in %,
  one column per protocol of :data:`PROTOCOLS`; ``representation`` is one of
  :data:`REPRESENTATIONS`. A method that has no score for a representation simply has no key.

The paper's numbers are passed in by the chapter (they are typed there, beside the table they
come from), never stored here. Every function returns a :class:`~taskspace.plotting.tables.Table`
or the ``Figure`` it drew; none trains or scores anything.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from taskspace.plotting.tables import Table, mean_std

__all__ = [
    "PROTOCOLS",
    "REPRESENTATIONS",
    "TASKONOMY_FIELDS",
    "hierarchy_bars",
    "hierarchy_table",
    "taskonomy_table",
    "threshold_table",
]

#: The columns of a hierarchy score (chapter 4's protocols) and how the tables name them.
PROTOCOLS: dict[str, str] = {
    "held_out": "held-out pairs",
    "novel_both": "novel, both directions",
    "novel_into_existing": "novel inside existing",
}
#: The representations a hierarchy method is scored on, and their column names.
REPRESENTATIONS: dict[str, str] = {"mu": "μ", "mu_sigma2": "[μ, σ²]"}
#: The Spearman fields of a Taskonomy score (chapter 5's :func:`spearman_scores`).
TASKONOMY_FIELDS = ("pooled_existing", "pooled_novel", "within_existing", "within_novel")

#: ``(R, 3)`` F1 % per ``(method, representation)``.
Scores = Mapping[tuple[str, str], np.ndarray]
#: The paper's F1 % per method: (existing mu, existing [mu, sigma^2], novel mu, novel
#: [mu, sigma^2]); ``None`` where the paper has no number. Its novel datasets were scored
#: "novel inside existing".
PaperF1 = Mapping[str, tuple[float | None, float | None, float | None, float | None]]

_COLOURS = ("#4c72b0", "#dd8452", "#f4b183")


def _label(labels: Mapping[str, str], method: str) -> str:
    if method not in labels:
        raise ValueError(f"no label for method {method!r}; labels has {sorted(labels)}")
    return labels[method]


def _check_scores(scores: Scores) -> None:
    """Raise unless every score is ``(R, 3)`` under a known representation."""
    for (method, representation), values in scores.items():
        if representation not in REPRESENTATIONS:
            raise ValueError(
                f"{method!r}: unknown representation {representation!r}, "
                f"expected one of {list(REPRESENTATIONS)}"
            )
        shape = np.shape(values)
        if len(shape) != 2 or shape[1] != len(PROTOCOLS):
            raise ValueError(
                f"{method!r} ({representation}): scores must be (R, {len(PROTOCOLS)}) "
                f"F1 % under {list(PROTOCOLS)}, got shape {shape}"
            )


def _paper_cell(mean: float, std: float) -> str:
    """``"0.94 ± 0.03"`` from a mean and std already computed (a paper's numbers)."""
    return f"{mean:.2f} ± {std:.2f}"


def _paper_row(paper: PaperF1, method: str) -> tuple[float | None, ...]:
    if method not in paper:
        raise ValueError(f"no paper numbers for method {method!r}; paper has {sorted(paper)}")
    row = tuple(paper[method])
    if len(row) != 4:
        raise ValueError(
            f"paper[{method!r}] must be (existing mu, existing [mu, sigma^2], novel mu, "
            f"novel [mu, sigma^2]), got {row}"
        )
    return row


def _paper_value(paper: PaperF1, method: str, protocol: str, representation: str) -> float | None:
    """The paper's number beside our ``protocol`` column; None for "novel, both directions",
    a protocol the paper did not score."""
    if protocol == "novel_both":
        return None
    row = _paper_row(paper, method)
    return row[2 * (protocol != "held_out") + (representation == "mu_sigma2")]


def _main_representation(scores: Scores, method: str) -> str:
    """The first representation of :data:`REPRESENTATIONS` the method was scored on."""
    for representation in REPRESENTATIONS:
        if (method, representation) in scores:
            return representation
    raise ValueError(f"no scores for method {method!r}")


def taskonomy_table(
    rho: Mapping[str, Mapping[str, np.ndarray]],
    paper: Mapping[str, tuple[tuple[float, float], tuple[float, float]]],
    labels: Mapping[str, str],
    methods: Sequence[str],
) -> Table:
    """Paper table 3 and chapter 5's within-target rho: one row per method (chapter 6).

    Args:
        rho: ``rho[method][field]`` ``(R,)`` Spearman's rho of each draw, ``field`` in
            :data:`TASKONOMY_FIELDS`.
        paper: the paper's ``((mean, std) existing, (mean, std) novel)`` pooled rho per
            method; methods it lacks get an empty paper cell.
        labels: the name shown for each method.
        methods: the rows, in order.

    Returns:
        Columns: method, then for existing and novel tasks the pooled rho here and in the paper,
        then the within-target rho on existing and novel tasks (mean ± std over draws).
    """
    rows = []
    for method in methods:
        if method not in rho:
            raise ValueError(f"no Spearman scores for method {method!r}; rho has {sorted(rho)}")
        missing = [field for field in TASKONOMY_FIELDS if field not in rho[method]]
        if missing:
            raise ValueError(f"{method!r}: missing Spearman fields {missing}")
        row: dict[str, object] = {"method": _label(labels, method)}
        for column, part in enumerate(("existing", "novel")):
            row[f"pooled ρ, {part}"] = mean_std(rho[method][f"pooled_{part}"])
            given = paper.get(method)
            row[f"paper, {part}"] = "" if given is None else _paper_cell(*given[column])
        for part in ("existing", "novel"):
            row[f"within-target ρ, {part}"] = mean_std(rho[method][f"within_{part}"])
        rows.append(row)
    draws = len(next(iter(rho[methods[0]].values())))
    return Table.from_rows(
        rows, caption=f"Spearman's ρ, mean ± std over {draws} draws (paper: table 3)"
    )


def _here_and_paper(values: np.ndarray | None, paper: float | None) -> str:
    here = "–" if values is None else mean_std(values, digits=1)
    return here if paper is None else f"{here} ({paper:.2f})"


def hierarchy_table(
    scores: Scores,
    paper: PaperF1,
    labels: Mapping[str, str],
    methods: Sequence[str],
    caption: str = "",
) -> Table:
    """Paper tables 1 and 2 under every protocol: F1 % here, the paper's in brackets (ch. 6).

    Args:
        scores: ``(R, 3)`` F1 % per ``(method, representation)`` (see the module's docstring).
        paper: the paper's F1 % per method; shown beside the held-out columns and beside the
            "novel inside existing" ones, the protocol the authors scored novel datasets with.
        labels: the name shown for each method.
        methods: the rows, in order; a method needs a score for at least one representation.
        caption: the table's caption.

    Returns:
        Columns: method, then one per (protocol, representation), each "mean ± std (paper)";
        "–" where the method was not scored on that representation.
    """
    _check_scores(scores)
    rows = []
    for method in methods:
        _main_representation(scores, method)  # raises if the method has no score at all
        row: dict[str, object] = {"method": _label(labels, method)}
        for column, (protocol, protocol_name) in enumerate(PROTOCOLS.items()):
            for representation, representation_name in REPRESENTATIONS.items():
                values = scores.get((method, representation))
                row[f"{protocol_name}, {representation_name}"] = _here_and_paper(
                    None if values is None else np.asarray(values)[:, column],
                    _paper_value(paper, method, protocol, representation),
                )
        rows.append(row)
    return Table.from_rows(rows, caption=caption)


def threshold_table(
    grid: Scores,
    anywhere: Scores,
    labels: Mapping[str, str],
    caption: str = "F1 % of the classifiers by threshold rule",
) -> Table:
    """F1 % of classifiers with the authors' threshold grid against any threshold (chapter 6).

    Args:
        grid: ``(R, 3)`` F1 % per ``(method, representation)``, threshold from 0.1, ..., 0.9.
        anywhere: the same classifiers with the best cut of the validation probabilities; one
            row per key, in its order; every key must be in ``grid``.
        labels: the name shown for each method.
        caption: the table's caption.

    Returns:
        Columns: method, representation, then held-out and novel (both directions) F1 with
        each threshold rule (mean ± std over draws).
    """
    _check_scores(grid)
    _check_scores(anywhere)
    rows = []
    for method, representation in anywhere:
        if (method, representation) not in grid:
            raise ValueError(f"{method!r} ({representation}) has no grid-threshold scores")
        row: dict[str, object] = {
            "method": _label(labels, method),
            "representation": REPRESENTATIONS[representation],
        }
        for column, protocol in enumerate(("held_out", "novel_both")):
            for rule, found in (("grid 0.1–0.9", grid), ("any threshold", anywhere)):
                values = np.asarray(found[method, representation])[:, column]
                row[f"{PROTOCOLS[protocol]}, {rule}"] = mean_std(values, digits=1)
        rows.append(row)
    return Table.from_rows(rows, caption=caption)


def hierarchy_bars(
    scores: Mapping[str, Scores],
    paper: Mapping[str, PaperF1],
    labels: Mapping[str, str],
    methods: Sequence[str],
    titles: Mapping[str, str],
) -> Figure:
    """One panel per hierarchy, stacked: F1 % of each method under the three protocols (chapter 6).

    Each method is drawn on its first representation of :data:`REPRESENTATIONS` (``mu``, or
    ``[mu, sigma^2]`` for a method with no ``mu`` score such as the KL divergence): bars are the
    mean over draws with the std as error bars; the paper's number is a black diamond on the
    held-out bar and on the "novel inside existing" bar (its novel protocol). The legend lies
    below the panels, off the data. The figure is the text column's width (7 inches), so its
    labels are printed at their own size on the page.

    Args:
        scores: per experiment, ``(R, 3)`` F1 % per ``(method, representation)``.
        paper: per experiment, the paper's F1 % per method (see :data:`PaperF1`).
        labels: the name shown for each method (wrapped under its bars).
        methods: the groups of bars, in order.
        titles: per experiment, its panel title; its keys give the panels' order and must be
            those of ``scores`` and ``paper``.
    """
    if set(titles) != set(scores) or set(titles) != set(paper):
        raise ValueError(
            f"titles, scores and paper must name the same experiments: "
            f"{sorted(titles)}, {sorted(scores)}, {sorted(paper)}"
        )
    width = 0.27
    fig, axes = plt.subplots(
        len(titles),
        1,
        figsize=(7, 3.4 * len(titles) + 0.6),
        sharey=True,
        squeeze=False,
        layout="constrained",
    )
    for ax, (name, title) in zip(axes[:, 0], titles.items(), strict=True):
        _check_scores(scores[name])
        x = np.arange(len(methods))
        main = [_main_representation(scores[name], m) for m in methods]
        for offset, (protocol, colour) in enumerate(zip(PROTOCOLS, _COLOURS, strict=True)):
            column = np.stack(
                [
                    np.asarray(scores[name][m, r])[:, offset]
                    for m, r in zip(methods, main, strict=True)
                ],
                1,
            )  # (R, M)
            ax.bar(
                x + (offset - 1) * width,
                column.mean(0),
                width,
                yerr=column.std(0),
                color=colour,
                label=PROTOCOLS[protocol],
                error_kw={"ecolor": "0.3", "capsize": 2, "elinewidth": 1},
            )
            if protocol == "novel_both":  # a protocol the paper did not score
                continue
            published = [
                _paper_value(paper[name], m, protocol, r)
                for m, r in zip(methods, main, strict=True)
            ]
            ax.plot(
                x + (offset - 1) * width,
                [np.nan if p is None else p for p in published],
                linestyle="none",
                marker="D",
                markersize=6,
                color="black",
                markeredgecolor="white",
                zorder=4,
                label="paper" if protocol == "held_out" else None,
            )
        ax.set_xticks(x, [textwrap.fill(_label(labels, m), 11) for m in methods], fontsize=9)
        ax.tick_params(axis="y", labelsize=9)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(r"F1 of $D_i \subset D_j$ (%)", fontsize=9)
    handles, names = axes[0, 0].get_legend_handles_labels()
    order = sorted(range(len(names)), key=lambda i: names[i] == "paper")  # the paper last
    handles, names = [handles[i] for i in order], [names[i] for i in order]
    fig.legend(handles, names, loc="outside lower center", ncol=len(names), fontsize=9)
    return fig
