"""Benchmark the app in Chromium: pen-up to probabilities on screen, and updates while drawing.

From the pen lifting off a digit to its probabilities on screen, and how often the
probabilities change while a stroke is being drawn.

Debian's Chromium draws on the draw page with the mouse, against the whole real stack.

    python -m bench.app                  # this checkout vs the app at 6e7ef58, about 4 minutes
    python -m bench.app --baseline ''    # this checkout alone, about 2 minutes

It starts what the browser tests start (tests/app/app_stack.py): SeaweedFS, registry_local,
the inference server and the model controller on free loopback ports; publishes the dense
(v1) and CNN (v2) models, trained by tests/app/train_and_publish.py into
`.bench/app-models/` on first use (about a minute) and reused afterwards; deploys v2 as
`mnist-e2e` with the seed's POST; runs the app under `streamlit run`; and draws digits on
the draw page with the mouse at a person's pace (PACE; tests/app/draw_page_driver.py),
clearing the canvas before each one, after a few warm-up digits.

Each answer carries the drawing it is for (`data-drawing`: canvas generation and stroke
count, and `~<seq>` for a drawing still in progress). A probe injected into the page before
Streamlit loads records, in the page's clock: the pointer-downs and -ups, the WebSocket
messages Streamlit sends, the message that brings each answer (found by its
`data-drawing`), when each answer's digit and probability bars enter the DOM, every change
of a probability chart's SVG, and the frame after each. Per digit, from the pointer-up
ending its last stroke:

- canvas → rerun request: until Streamlit sends the rerun with the finished drawing (the
  canvas component's own wait, if any, and its encoding of the drawing);
- rerun request → answer received: until the WebSocket message with the answer arrives
  (the Streamlit rerun on the server; the inference round trip the app reports, 'round
  trip N ms', is part of it);
- answer received → on screen: the browser renders the digit and the probabilities, until
  just after the frame that follows the later of the two (the bars entering the page, or
  for an app that still draws a Vega-Lite chart, the chart's last change); the part from
  the digit entering the page is shown apart.

And while the pen is down: the answers for drawings in progress painted before the
pointer-up, per second of pen-down time (live updates/s).

`--baseline REV` (default 6e7ef58, the last app with streamlit-drawable-canvas) also runs
the app as it was at git revision REV (its `app/` extracted to the work folder, in a
virtualenv in `.bench/` with the packages REV's pyproject.toml lists for the app; REV must
already render `data-drawing`) against the same stack, drawing the same digits alternately
on both, so a change is measured before and after in one run.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tomllib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from playwright.sync_api import Browser, Locator, Page

from bench import BENCH, REPO
from bench.peers import ensure_peer_venv
from bench.report import load_average, loads, machine, save_last_run, started, table_row
from stack.seaweed import S3Settings, running_seaweed
from tests.app.app_stack import (  # the app tests' stack and browser helpers
    DIGIT_STROKES,
    running_app,
    running_stack,
    set_state_like_the_seed,
    train_and_publish,
    wait_until_ready,
)
from tests.app.draw_page_driver import CANVAS, Pace, chromium, draw, open_draw_page

BASELINE = "6e7ef58"
"""The last revision of the app with streamlit-drawable-canvas (its canvas waited 200 ms)."""
SERVICE = "mnist-e2e"
TIMEOUT_MS = 60_000
QUIET_MS = 400
"""The page counts as settled after this long without WebSocket traffic or DOM changes."""
LIVE = "~"
"""In a `data-drawing` key, marks a drawing still being drawn (`<generation>-<strokes>~<seq>`)."""
PACE = Pace(speed=600, rate=100)
"""How fast the benchmark draws: 600 canvas px/s (a 0 in about 0.8 s), a mouse move every 10 ms."""

PROBE = """
(() => {
  const probe = {last: 0};
  probe.reset = () =>
    Object.assign(probe, {downs: [], ups: [], sends: [], messages: {}, answers: {}, bars: {},
                          chart: []});
  probe.reset();
  const painted = (list, t) =>  // just after the next frame (the one showing the change)
    requestAnimationFrame(() => setTimeout(() => list.push([t, performance.now()])));
  window.__probe = probe;
  const now = () => (probe.last = performance.now());
  addEventListener("pointerdown", (e) => probe.downs.push(e.timeStamp), true);
  addEventListener("pointerup", (e) => probe.ups.push(e.timeStamp), true);
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    probe.sends.push([now(), data.byteLength ?? data.length ?? 0]);
    return send.call(this, data);
  };
  const text = new TextDecoder("latin1");
  const received = (e) => {
    const t = now();
    const found = text.decode(e.data).match(/data-drawing="([^"]+)"/);
    if (found) probe.messages[found[1]] ??= t;
  };
  window.WebSocket = class extends WebSocket {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", received);
    }
  };
  const changed = (records) => {
    const t = now();
    for (const el of document.querySelectorAll(".predicted-digit[data-drawing]")) {
      const key = el.dataset.drawing;
      if (!(key in probe.answers)) painted(probe.answers[key] = [], t);
    }
    for (const el of document.querySelectorAll(".probabilities[data-drawing]")) {
      const key = el.dataset.drawing;
      if (!(key in probe.bars)) painted(probe.bars[key] = [], t);
    }
    if (records.some((r) => r.target.closest?.("[data-testid=stVegaLiteChart]"))) {
      painted(probe.chart, t);
    }
  };
  new MutationObserver(changed).observe(document, {
    subtree: true, childList: true, attributes: true, characterData: true});
})();
"""
"""Records the timeline in the page's clock (performance.now(), ms); see the module doc."""

PHASES = (
    ("total", "pen up → probabilities on screen"),
    ("canvas", "canvas → rerun request (component's wait, encoding)"),
    ("server", "rerun request → answer received (Streamlit rerun)"),
    ("inference", "… of which the inference round trip"),
    ("render", "answer received → on screen (digit, probabilities, paint)"),
    ("chart", "… of which digit in the page → probabilities painted"),
)


@dataclass(frozen=True)
class Sample:
    """One digit's timeline from the pen-up ending its last stroke (ms), and the answer."""

    digit: int
    answered: int
    total: float
    canvas: float
    server: float
    inference: float
    render: float
    chart: float
    early_answers: int
    """Answers shown for earlier strokes of the same digit (each stroke triggers a rerun)."""
    live_answers: int
    """Answers shown while a stroke was being drawn (pen down), for drawings in progress."""
    pen_down: float
    """How long the pen was down, all strokes of the digit together, in ms."""


@dataclass
class DrawPage:
    """One app's draw page in its own browser context, and its canvas generation."""

    label: str
    page: Page
    generation: int = 0


# --- the stack ------------------------------------------------------------------------------


@contextmanager
def s3(work: Path) -> Iterator[S3Settings]:
    """SeaweedFS with the models bucket, as the tests' s3_server fixture has it."""
    with running_seaweed(work / "seaweed") as process:
        yield S3Settings(endpoint=process.url)


@contextmanager
def stack_with_cnn(work: Path) -> Iterator[str]:
    """The real stack with v1 and v2 published and v2 serving as mnist-e2e; the registry URL."""
    with s3(work) as s3_settings, running_stack(work, s3_settings.as_env()) as stack:
        env = {**os.environ, **s3_settings.as_env(), "MODEL_REGISTRY_URL": stack.registry_url}
        print("publishing v1 and v2 (training them into .bench/app-models on first use)...")
        train_and_publish(BENCH / "app-models", env)
        set_state_like_the_seed(stack.registry_url, "v2", SERVICE, "DEPLOYED")
        wait_until_ready(stack.serving_url, SERVICE)
        yield stack.registry_url


@dataclass(frozen=True)
class AppSource:
    """An app to measure: the folder holding its `app` package, the python it runs with."""

    folder: Path
    python: str = sys.executable


def baseline(revision: str, work: Path) -> AppSource:
    """The app as it was at `revision`, with the packages it needed then."""
    return AppSource(baseline_source(revision, work), baseline_python(revision))


def baseline_python(revision: str) -> str:
    """A virtualenv (in .bench/, made once) with the app's packages as `revision`'s
    pyproject.toml lists them: an older app may need one this checkout no longer installs
    (streamlit-drawable-canvas)."""
    pyproject = subprocess.run(["git", "show", f"{revision}:pyproject.toml"], cwd=REPO,
                               check=True, capture_output=True, text=True).stdout  # fmt: skip
    packages = tomllib.loads(pyproject)["project"]["optional-dependencies"]["app"]
    digest = hashlib.sha256("\n".join(sorted(packages)).encode()).hexdigest()[:12]
    return str(ensure_peer_venv(BENCH / f"app-venv-{digest}", packages))


def baseline_source(revision: str, work: Path) -> Path:
    """`app/` as it was at `revision`, extracted into `work/baseline`."""
    archive = subprocess.run(["git", "archive", revision, "app"], cwd=REPO, check=True,
                             capture_output=True).stdout  # fmt: skip
    target = work / "baseline"
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target


# --- one digit ------------------------------------------------------------------------------


def settle(page: Page) -> None:
    """Wait until the page has had no WebSocket traffic and no DOM change for QUIET_MS."""
    page.wait_for_function(f"performance.now() - window.__probe.last > {QUIET_MS}",
                           timeout=TIMEOUT_MS, polling=50)  # fmt: skip


def clear(draw_page: DrawPage) -> Locator:
    """Press Clear, wait for the empty canvas to settle, reset the probe; the new canvas."""
    page = draw_page.page
    page.get_by_role("button", name="Clear").click()
    draw_page.generation += 1
    page.get_by_text("Deployed and waiting for your drawing").wait_for(timeout=TIMEOUT_MS)
    settle(page)
    page.evaluate("window.__probe.reset()")
    return page.locator(CANVAS)


def measure_digit(draw_page: DrawPage, digit: int) -> Sample:
    """Draw `digit` on a cleared canvas and read its timeline from the probe."""
    page = draw_page.page
    page.bring_to_front()
    canvas = clear(draw_page)
    strokes = DIGIT_STROKES[digit]
    key = f"{draw_page.generation}-{len(strokes)}"
    draw(page, canvas, strokes, PACE)
    answer = page.locator(f'.predicted-digit[data-service="{SERVICE}"][data-drawing="{key}"]')
    answer.wait_for(timeout=TIMEOUT_MS)
    settle(page)
    probe = page.evaluate("({...window.__probe, reset: undefined})")
    facts = page.locator(".prediction-facts").last.inner_text()
    return sample(digit, int(answer.inner_text()), key, probe, facts)


def sample(digit: int, answered: int, key: str, probe: dict, facts: str) -> Sample:
    """The phases of one digit's timeline (see the module doc)."""
    up = probe["ups"][-1]
    sent = min(t for t, *_ in probe["sends"] if t >= up)
    [(in_dom, painted)] = probe["answers"][key]
    received = probe["messages"][key]
    later = [frame for t, frame in probe["chart"] + probe["bars"].get(key, []) if t >= in_dom]
    on_screen = max([painted, *later])
    found = re.search(r"round trip (\d+) ms", facts)
    return Sample(
        digit=digit,
        answered=answered,
        total=on_screen - up,
        canvas=sent - up,
        server=received - sent,
        inference=float(found.group(1)) if found else float("nan"),
        render=on_screen - received,
        chart=on_screen - in_dom,
        early_answers=sum(LIVE not in k and k != key for k in probe["answers"]),
        live_answers=len(live_answers(probe)),
        pen_down=sum(up - down for down, up in zip(probe["downs"], probe["ups"], strict=True)),
    )


def live_answers(probe: dict) -> list[str]:
    """The drawings in progress whose answer was painted while the pen was down."""
    strokes = list(zip(probe["downs"], probe["ups"], strict=True))
    return [key for key, [(_, painted)] in probe["answers"].items()
            if LIVE in key and any(down <= painted <= up for down, up in strokes)]  # fmt: skip


# --- the run --------------------------------------------------------------------------------


def open_page(browser: Browser, label: str, url: str) -> DrawPage:
    context = browser.new_context(viewport={"width": 1300, "height": 1100})
    context.add_init_script(PROBE)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    open_draw_page(page, url)
    page.get_by_text("Deployed and waiting for your drawing").wait_for()
    return DrawPage(label, page)


def run(pages: list[DrawPage], digits: int, warmup: int) -> dict[str, list[Sample]]:
    """`warmup` digits on each page, then `digits` digits, alternating pages per digit."""
    order = sorted(DIGIT_STROKES)
    samples: dict[str, list[Sample]] = {p.label: [] for p in pages}
    for index in range(warmup + digits):
        digit = order[index % len(order)]
        measured = {p.label: measure_digit(p, digit) for p in pages}
        if index < warmup:
            continue
        for label, one in measured.items():
            samples[label].append(one)
        totals = ", ".join(f"{label} {one.total:.0f} ms" for label, one in measured.items())
        print(f"  {index + 1 - warmup:>3}: drew {digit}: {totals}", flush=True)
    return samples


# --- the report -----------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (p90 of 20 values is the 18th smallest)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(len(ordered) * share) - 1)]


def phase_row(label: str, values: list[float]) -> str:
    stats = (statistics.median(values), percentile(values, 0.9), min(values), max(values))
    return table_row(label, *(f"{v:.0f} ms" for v in stats))


def table(samples: list[Sample]) -> list[str]:
    lines = ["| from the pen-up ending a digit's last stroke | median | p90 | min | max |",
             "|---|---|---|---|---|"]  # fmt: skip
    for name, label in PHASES:
        lines.append(phase_row(label, [getattr(s, name) for s in samples]))
    right = sum(s.answered == s.digit for s in samples)
    early = sum(s.early_answers > 0 for s in samples)
    lines.append(f"\n{right} of {len(samples)} digits recognised; {early} showed an answer "
                 "for an earlier stroke first. Medians of the phases need not add up to the "
                 "total's.")  # fmt: skip
    return [*lines, "", live_rate(samples)]


def live_rate(samples: list[Sample]) -> str:
    """Answers painted while the pen was down, per second of pen-down time."""
    answers = sum(s.live_answers for s in samples)
    seconds = sum(s.pen_down for s in samples) / 1000
    rates = [s.live_answers / s.pen_down * 1000 for s in samples]
    spread = f"median {statistics.median(rates):.1f}, min {min(rates):.1f}, max {max(rates):.1f}"
    return (f"While a stroke was being drawn: {answers} answers in {seconds:.1f} s of pen-down "
            f"time, {answers / seconds:.1f} updates/s (per digit: {spread}).")  # fmt: skip


def report(results: dict[str, list[Sample]], browser_version: str, load_before: float) -> str:
    count = len(next(iter(results.values())))
    lines = [f"App benchmark, {started()}; {machine()}; {loads(load_before)}. "
             f"Chromium {browser_version} (headless), "
             f"{count} digits per app ({', '.join(map(str, sorted(DIGIT_STROKES)))} in turn) "
             f"drawn with the mouse; CNN v2 deployed as {SERVICE}.", ""]  # fmt: skip
    for label, samples in results.items():
        lines += [f"**{label}**", "", *table(samples), ""]
    if len(results) == 2:
        (new_label, new), (old_label, old) = results.items()
        new_median = statistics.median(s.total for s in new)
        old_median = statistics.median(s.total for s in old)
        change = "less" if new_median <= old_median else "more"
        lines.append(f"Median total: {new_median:.0f} ms ({new_label}) vs {old_median:.0f} ms "
                     f"({old_label}): {abs(old_median - new_median):.0f} ms {change}.")  # fmt: skip
    return "\n".join(lines)


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--digits", type=int, default=20, choices=range(1, 101),
                        metavar="1..100", help="digits measured per app (default 20)")  # fmt: skip
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured digits first")
    parser.add_argument("--baseline", metavar="REV", default=BASELINE,
                        help="also measure the app as it was at this git revision (default "
                             f"{BASELINE}: streamlit-drawable-canvas; '' for none)")  # fmt: skip
    parser.add_argument("--work-dir", type=Path, default=BENCH / "app",
                        help="logs, databases and the baseline's app/ (emptied first)")  # fmt: skip
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = arguments(argv)
    load_before = load_average()
    shutil.rmtree(args.work_dir, ignore_errors=True)
    args.work_dir.mkdir(parents=True)
    sources = {"this checkout": AppSource(REPO)}
    if args.baseline:
        sources[f"app at {args.baseline}"] = baseline(args.baseline, args.work_dir)
    with ExitStack() as stack:
        registry_url = stack.enter_context(stack_with_cnn(args.work_dir))
        urls = {label: stack.enter_context(running_app(args.work_dir, registry_url, f"app-{n}",
                                                       source.folder, source.python))
                for n, (label, source) in enumerate(sources.items())}  # fmt: skip
        browser = stack.enter_context(chromium())
        pages = [open_page(browser, label, url) for label, url in urls.items()]
        results = run(pages, args.digits, args.warmup)
        text = report(results, browser.version, load_before)
    print("\n" + text)
    save_last_run("app", text)


if __name__ == "__main__":
    main()
