"""The drills' timeline (docs/reliability.md): for each drill, people's requests a second
by outcome (ok, stale, 503, other) around the fault, the fault's window shaded, and the
gate's admission rate on a second axis.

    .venv/bin/python bench/drills_plot.py var/drills.json --output docs/img/drills-timeline.png
    .venv/bin/python bench/drills_plot.py before.json:before after.json:after --drills pg-stop

The JSON is what ``bench/drills.py --json`` writes.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

COLOURS = {"ok": "#1a7f37", "stale": "#bf8700", "503": "#cf222e", "other": "#8250df"}


def plot(results: list[dict[str, Any]], output: Path) -> None:
    import matplotlib  # noqa: PLC0415 - only this script needs it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415 - after choosing the backend
    from matplotlib.lines import Line2D  # noqa: PLC0415 - as above

    figure, axes = plt.subplots(
        len(results), 1, figsize=(9, 2.3 * len(results)), sharex=False, squeeze=False
    )
    for row, result in zip(axes[:, 0], results, strict=True):
        line = result["timeline"]
        seconds = line["seconds"]
        row.stackplot(
            seconds,
            *(line[outcome] for outcome in COLOURS),
            labels=[f"{outcome}" for outcome in COLOURS],
            colors=list(COLOURS.values()),
            alpha=0.85,
            step="post",
        )
        row.axvspan(0, line["fault_end"], color="#57606a", alpha=0.15, label="fault")
        row.set_ylabel("requests/s")
        row.set_title(result["drill"], loc="left", fontsize=10)
        row.set_xlim(seconds[0], seconds[-1])
        rates = line["admission_rate"]
        if rates:
            twin = row.twinx()
            twin.plot(
                [at for at, _ in rates],
                [rate for _, rate in rates],
                color="#0969da",
                linewidth=1.2,
                label="gate admission rate",
            )
            twin.set_ylabel("admissions/s", color="#0969da")
            twin.set_ylim(0, 1.2 * max(rate for _, rate in rates))
    axes[-1, 0].set_xlabel("seconds from the fault")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    handles.append(Line2D([], [], color="#0969da"))
    labels.append("gate admission rate (right axis)")
    figure.legend(handles, labels, loc="upper center", ncol=6, fontsize=8, frameon=False)
    figure.tight_layout(rect=(0, 0, 1, 0.97))
    output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(output, dpi=90)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "results", nargs="+", help="bench/drills.py --json files, each PATH or PATH:LABEL"
    )
    parser.add_argument("--drills", nargs="+", help="only these drills")
    parser.add_argument("--output", type=Path, default=Path("docs/img/drills-timeline.png"))
    args = parser.parse_args()
    results: list[dict[str, Any]] = []
    for given in args.results:
        path, _, label = given.partition(":")
        for result in json.loads(Path(path).read_text(encoding="utf-8")):
            if args.drills and result["drill"] not in args.drills:
                continue
            if label:
                result["drill"] = f"{result['drill']} ({label})"
            results.append(result)
    plot(results, args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
