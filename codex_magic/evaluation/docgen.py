"""docs/evaluation.md's numbers, generated from the committed results.

The doc's prose lives outside markers; each ``<!-- generated: NAME -->`` …
``<!-- end -->`` block is written here from ``results.json``, which ``study.build``
computes from the committed samples. ``tests/test_evaluate_docs.py`` rebuilds
both and compares them with the committed files, so a hand edit or a stale
number fails. Rates are written with their 95% intervals ("95% CI").

    python -m codex_magic.evaluation.docgen            # rebuild results.json, blocks, figures
    python -m codex_magic.evaluation.docgen --check    # exit 1 if anything would change
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from .docblocks import BLOCKS, MODEL, R

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "evaluation.md"
RESULTS = ROOT / "docs" / "results" / "gemma-3-270m"
IMG = ROOT / "docs" / "img"

_BLOCK = re.compile(r"(<!-- generated: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- end -->)",
                    re.S)


def render(doc: str, results: R) -> str:
    """The doc with every generated block rewritten from ``results``."""
    def one(m: re.Match[str]) -> str:
        name = m["name"]
        if name not in BLOCKS:
            raise ValueError(f"unknown generated block {name!r} in the doc")
        needs = {"stop": "repetition_stop", "sweep": "sweep", "curve": "curve"}.get(name)
        text = BLOCKS[name](results) if needs is None or needs in results else \
            "*Not measured: its run did not fit the sampling budget (see below).*\n"
        return m.group(1) + text + m.group(4)

    return _BLOCK.sub(one, doc)


def results_text(results: R) -> str:
    return json.dumps(results, indent=1, allow_nan=False) + "\n"


def draw(results: R, img: Path) -> list[Path]:
    from . import plots

    main = {**results["main"], "model": MODEL}
    paths = [img / plots.PASS_AT_K_PNG, img / plots.RANKING_PNG]
    plots.plot_pass_at_k(main, paths[0])
    plots.plot_ranking(main, paths[1])
    if "curve" in results:
        paths.append(img / plots.TOP1_VS_N_PNG)
        plots.plot_top1_vs_n(results["curve"], MODEL, paths[-1])
    if "sweep" in results:
        paths.append(img / plots.TEMPERATURE_PNG)
        plots.plot_temperature(results["sweep"], MODEL, paths[-1])
    return paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m codex_magic.evaluation.docgen")
    ap.add_argument("--results", type=Path, default=RESULTS)
    ap.add_argument("--doc", type=Path, default=DOC)
    ap.add_argument("--img", type=Path, default=IMG)
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    ap.add_argument("--no-plots", action="store_false", dest="plots")
    args = ap.parse_args(argv)
    from .study import build

    results = build(args.results)
    text = results_text(results)
    doc = render(args.doc.read_text(encoding="utf-8"), results)
    stale = [p for p, new in ((args.results / "results.json", text), (args.doc, doc))
             if not p.exists() or p.read_text(encoding="utf-8") != new]
    if args.check:
        for p in stale:
            print(f"stale: {p}", file=sys.stderr)
        return 1 if stale else 0
    (args.results / "results.json").write_text(text, encoding="utf-8")
    args.doc.write_text(doc, encoding="utf-8")
    if args.plots:
        args.img.mkdir(parents=True, exist_ok=True)
        for p in draw(results, args.img):
            print(f"plot: {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
