"""Render the HTML report of a 100,000-datapoint comparison and time it.

Prints: time to build the runs and compare them (context), time to render the HTML,
Markdown and JSON reports, the HTML file size, and the time to first paint /
first contentful paint / explorer ready in headless Chromium (when playwright and
/usr/bin/chromium are available).

    python benchmarks/bench_report.py [--n 100000] [--max-outputs 2000] [--out DIR]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

from pytest_runcompare.building import build_run
from pytest_runcompare.comparison import compare_runs

CHROMIUM = "/usr/bin/chromium"
WORDS = [
    "the",
    "model",
    "answered",
    "that",
    "paris",
    "is",
    "the",
    "capital",
    "of",
    "france",
    "and",
    "the",
    "river",
    "seine",
    "flows",
    "through",
    "it",
    "while",
    "the",
    "eiffel",
    "tower",
    "stands",
    "near",
    "the",
    "champ",
    "de",
    "mars",
    "in",
    "a",
    "district",
    "of",
    "the",
    "city",
    "known",
    "for",
    "its",
    "museums",
]


def records(n: int, *, candidate: bool) -> list[dict]:
    rng = random.Random(7)
    change = random.Random(11)  # the candidate's own draws leave the shared ones alone
    out = []
    for k in range(n):
        start = rng.randrange(0, 10)
        words = WORDS[start : start + 18]
        correct = rng.random() < 0.8
        f1 = rng.uniform(0.4, 1.0)
        latency = rng.lognormvariate(0.0, 0.3)
        if candidate:
            u = change.random()
            if u < 0.06:
                words = [*words[:4], "berlin", *words[5:]]
                correct, f1 = False, f1 * 0.6
            elif u < 0.10:
                words = [*words[:2], "clearly", *words[2:]]
                correct, f1 = True, min(1.0, f1 * 1.2)
            latency *= change.uniform(0.85, 1.05)
        out.append(
            {
                "id": f"item-{k:06d}",
                "input": f"Question {k}: describe the capital of France in one sentence.",
                "output": " ".join(words),
                "expected": "paris",
                "metrics": {
                    "accuracy": correct,
                    "f1": round(f1, 4),
                    "latency_s": round(latency, 4),
                },
                "slices": [("lang:de", "lang:en", "lang:fr")[k % 3]],
            }
        )
    return out


def judgement_of(comparison):
    """The real pipeline's judgement of three gates on the benchmark's runs."""
    from pytest_runcompare.config import parse_gates
    from pytest_runcompare.pipeline import build_request, judge

    config = parse_gates(
        {
            "defaults": {"compatibility": "warn"},
            "metrics": {
                "accuracy": {"margin": 0.01},
                "f1": {"margin": 0.02},
                "latency_s": {"margin": "5%", "direction": "lower"},
            },
        }
    )
    return judge(comparison, build_request(config))


def first_paint(path: Path) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        t0 = time.perf_counter()
        page.goto(path.as_uri())
        page.wait_for_selector("html[data-ready='1']", timeout=120_000)
        ready_wall = time.perf_counter() - t0
        paints = page.evaluate(
            "Object.fromEntries(performance.getEntriesByType('paint')"
            ".map(e => [e.name, e.startTime]))"
        )
        timing = page.evaluate(
            "(() => { const n = performance.getEntriesByType('navigation')[0];"
            " return {dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd}; })()"
        )
        t1 = time.perf_counter()
        page.select_option("#f-status", "d")
        page.wait_for_timeout(0)
        filter_ms = (time.perf_counter() - t1) * 1000
        browser.close()
    return {
        "first_paint_ms": paints.get("first-paint", float("nan")),
        "first_contentful_paint_ms": paints.get("first-contentful-paint", float("nan")),
        "dom_content_loaded_ms": timing["dcl"],
        "load_ms": timing["load"],
        "explorer_ready_wall_ms": ready_wall * 1000,
        "filter_regressed_ms": filter_ms,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--max-outputs", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)

    from pytest_runcompare.render.html import render_html
    from pytest_runcompare.render.json_report import render_json
    from pytest_runcompare.render.markdown import render_markdown

    t = time.perf_counter()
    base = build_run(records(args.n, candidate=False), {"name": "baseline"})
    cand = build_run(records(args.n, candidate=True), {"name": "candidate"})
    comparison = compare_runs(base, cand, directions={"latency_s": "lower"})
    judgement = judgement_of(comparison)
    _ = (
        comparison.metric_deltas,
        comparison.slice_deltas,
        comparison.changed_output_count,
    )
    print(f"datapoints            {args.n}")
    print(f"build + compare       {time.perf_counter() - t:8.2f} s (context)")

    t = time.perf_counter()
    html = render_html(
        comparison, judgement, max_outputs=args.max_outputs, generated="bench"
    )
    print(f"render_html           {time.perf_counter() - t:8.2f} s")
    t = time.perf_counter()
    md = render_markdown(comparison, judgement)
    print(f"render_markdown       {time.perf_counter() - t:8.2f} s ({len(md)} chars)")
    t = time.perf_counter()
    js = render_json(comparison, judgement)
    print(
        f"render_json           {time.perf_counter() - t:8.2f} s ({len(js.encode()) / 1e6:.1f} MB)"
    )
    size = len(html.encode("utf-8"))
    print(f"html size             {size / 1e6:8.2f} MB (limit 15 MB)")

    out = args.out or Path(tempfile.mkdtemp(prefix="bench_report_"))
    out.mkdir(parents=True, exist_ok=True)
    path = out / "report.html"
    path.write_text(html, encoding="utf-8")
    print(f"written               {path}")
    if Path(CHROMIUM).exists():
        try:
            figures = first_paint(path)
        except ImportError:
            print("playwright not installed: no browser timing")
        else:
            for key, value in figures.items():
                print(f"{key:<22}{value:8.0f} ms")
    else:
        print(f"no Chromium at {CHROMIUM}: no browser timing")
    return 0 if size < 15_000_000 else 1


if __name__ == "__main__":
    sys.exit(main())
