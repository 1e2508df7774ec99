"""What a consent banner costs the browser: Kruimel beside vanilla-cookieconsent, Klaro and
tarteaucitron, in Debian's Chromium, side by side in one run.

The page (bench/banner_pages.py) is one article: without a banner (the baseline: a static
page, no script), with Kruimel's one-tag snippet (``kruimel.js`` from a collector on another
origin, which fetches the banner fragment), with Kruimel's server-rendered banner (the consent
middleware writes it into the HTML), and with each peer, installed from the npm registry
(``make bench-deps``: bench/peers/package.json, exact versions). Every banner offers the same
choice: necessary, analytics, marketing, in English.

Each load is a fresh browser context (empty cache, no cookies: a first visit, the one that
shows the banner), interleaved: every round loads every variant once, in a rotating order, at
1x and at 4x CPU throttling (CDP ``Emulation.setCPUThrottlingRate``), so all share the noise.
Per load, from the browser itself:

- bytes: response bodies as transferred (compressed), all requests of the page;
- banner visible: the first animation frame in which the banner element has a box inside the
  viewport and is neither ``display: none`` nor hidden (polled from ``requestAnimationFrame``);
- script: CDP ``Performance.getMetrics`` ``ScriptDuration`` (all script run on the page); TBT:
  the long tasks' time over 50 ms;
- first paint / first contentful paint, and their delay against the baseline of the same round;
- CLS: the layout shifts (``layout-shift`` entries without recent input), summed.

``python bench/banner_load.py`` (25 loads per variant and rate) writes
bench/results/banner_load.txt; ``--quick`` (3 loads) and ``--loads N`` only print;
``--json PATH`` also writes the medians as JSON (tests/browser/test_banner_bench.py).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, sync_playwright

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results" / "banner_load.txt"
sys.path.insert(0, str(ROOT / "tests" / "browser"))
sys.path.insert(0, str(HERE))
from banner_pages import BANNER_SELECTORS, PEERS, VARIANTS  # noqa: E402
from browserkit import BIN, CHROMIUM, CHROMIUM_ARGS, Server, free_port, new_context  # noqa: E402

RATES = (1, 4)
PEER_PACKAGES = ("vanilla-cookieconsent", "klaro", "tarteaucitronjs")
METRICS = ("bytes", "visible", "script", "tbt", "fp", "fcp", "cls")

# Runs before any script of the page: records layout shifts, long tasks and the frame in
# which the banner is first visible. SELECTOR is replaced with the variant's, or null.
PROBE = """(() => {
  const sel = SELECTOR, out = window.__bench = {cls: 0, tbt: 0, visible: null};
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (!e.hadRecentInput) out.cls += e.value;
  }).observe({type: "layout-shift", buffered: true});
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) out.tbt += Math.max(0, e.duration - 50);
  }).observe({type: "longtask", buffered: true});
  const shown = (el) => {
    if (!el || el.closest("[hidden]")) return false;
    const s = getComputedStyle(el), r = el.getBoundingClientRect();
    return s.display !== "none" && s.visibility === "visible" && r.width > 0 && r.height > 0
      && r.top < innerHeight && r.bottom > 0;
  };
  const check = (now) => {
    if (shown(document.querySelector(sel))) out.visible = now;
    else requestAnimationFrame(check);
  };
  if (sel) requestAnimationFrame(check);
})();"""


def load(browser: Browser, url: str, variant: str, rate: int, settle_ms: int) -> dict[str, float]:
    """One first visit of ``variant``'s page at CPU throttling ``rate``; its measurements."""
    selector = BANNER_SELECTORS[variant]
    context = new_context(
        browser,
        locale="en-US",
        viewport={"width": 1280, "height": 800},
        reduced_motion="reduce",
        # Every response compressed the same way: Chromium would take brotli from Kruimel's
        # precompressed assets and gzip from the rest.
        extra_http_headers={"Accept-Encoding": "gzip, deflate"},
    )
    try:
        page = context.new_page()
        page.add_init_script(PROBE.replace("SELECTOR", repr(selector) if selector else "null"))
        cdp = context.new_cdp_session(page)
        cdp.send("Performance.enable")
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": rate})
        finished: list[Any] = []
        page.on("requestfinished", lambda request: finished.append(request))
        page.goto(url, wait_until="load", timeout=60_000)
        if selector:
            page.wait_for_function("() => window.__bench.visible !== null", timeout=60_000)
        page.wait_for_timeout(settle_ms * rate)  # late long tasks and layout shifts
        found = page.evaluate(
            "() => ({...window.__bench, paint: Object.fromEntries("
            "performance.getEntriesByType('paint').map((e) => [e.name, e.startTime]))})"
        )
        metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        body = sum(r.sizes()["responseBodySize"] for r in finished)
    finally:
        context.close()
    return {
        "bytes": float(body),
        "visible": float(found["visible"]) if selector else float("nan"),
        "script": metrics["ScriptDuration"] * 1000,
        "tbt": float(found["tbt"]),
        "fp": float(found["paint"].get("first-paint", float("nan"))),
        "fcp": float(found["paint"].get("first-contentful-paint", float("nan"))),
        "cls": float(found["cls"]),
    }


Runs = dict[int, dict[str, list[dict[str, float]]]]


def run(browser: Browser, site: str, loads: int, settle_ms: int) -> Runs:
    """``loads`` rounds; each loads every variant once per rate, in a rotating order."""
    runs: Runs = {rate: {v: [] for v in VARIANTS} for rate in RATES}
    for i in range(loads):
        for rate in RATES:
            order = VARIANTS[i % len(VARIANTS) :] + VARIANTS[: i % len(VARIANTS)]
            for variant in order:
                url = site + ("/ssr/" if variant == "kruimel-ssr" else f"/{variant}.html")
                runs[rate][variant].append(load(browser, url, variant, rate, settle_ms))
        print(f"round {i + 1}/{loads} done", file=sys.stderr, flush=True)
    return runs


def _median(values: list[float]) -> float:
    kept = [v for v in values if v == v]  # NaN: not measured (no banner on the baseline)
    return statistics.median(kept) if kept else float("nan")


def medians(runs: Runs) -> dict[int, dict[str, dict[str, float]]]:
    """Per rate and variant, the median of every measurement (NaN where not measured)."""
    return {
        rate: {v: {k: _median([r[k] for r in rows[v]]) for k in METRICS} for v in VARIANTS}
        for rate, rows in runs.items()
    }


def _delay(rounds: list[dict[str, float]], base: list[dict[str, float]], key: str) -> float:
    """Median over rounds of this variant's ``key`` minus the baseline's in the same round."""
    return _median([r[key] - b[key] for r, b in zip(rounds, base, strict=True)])


def _ratio(rounds: list[dict[str, float]], base: list[dict[str, float]], key: str) -> float:
    """Median over rounds of this variant's ``key`` over the baseline's in the same round."""
    return _median([r[key] / b[key] for r, b in zip(rounds, base, strict=True) if b[key] > 0])


def table(runs: Runs, rate: int) -> list[str]:
    """The lines for one throttling rate: medians, against the baseline, against Kruimel."""
    base = runs[rate]["baseline"]
    med = medians(runs)[rate]
    lines = [
        f"CPU throttling {rate}x, medians of {len(base)} loads",
        f"{'variant':<22} {'bytes':>6} {'+bytes':>6} {'visible':>7} {'script':>7} {'TBT':>5} "
        f"{'FP':>5} {'FCP':>5} {'+FP':>5} {'+FCP':>5} {'FCP/base':>8} {'CLS med/max':>13}",
    ]
    for v in VARIANTS:
        m, rows = med[v], runs[rate][v]
        lines.append(
            f"{v:<22} {m['bytes']:>6.0f} {m['bytes'] - med['baseline']['bytes']:>6.0f} "
            f"{m['visible']:>5.0f}ms {m['script']:>5.1f}ms {m['tbt']:>3.0f}ms "
            f"{m['fp']:>3.0f}ms {m['fcp']:>3.0f}ms {_delay(rows, base, 'fp'):>+5.0f} "
            f"{_delay(rows, base, 'fcp'):>+5.0f} {_ratio(rows, base, 'fcp'):>8.2f} "
            f"{m['cls']:>6.4f}/{max(r['cls'] for r in rows):.4f}"
        )
    refs = ("kruimel", "kruimel-ssr")
    lines.append(
        f"{'ratios (of the medians)':<22} "
        + "".join(f"{'vs ' + ref:>16}{'bytes':>6} {'visible':>7} {'script':>6}" for ref in refs)
    )
    for v in VARIANTS[1:]:
        cells = []
        for ref in refs:
            m, k = med[v], med[ref]
            cells.append(
                f"{'':>16}{m['bytes'] / k['bytes']:>6.2f} {m['visible'] / k['visible']:>7.2f} "
                f"{m['script'] / k['script']:>6.2f}"
            )
        lines.append(f"{v:<22} {''.join(cells)}")
    return lines


def report(runs: Runs, args: argparse.Namespace, versions: dict[str, str]) -> list[str]:
    """The whole report: the set-up, then one table per rate."""
    load_avg = os.getloadavg()
    lines = [
        "Consent banners in the browser: Kruimel beside its peers (bench/banner_load.py)",
        f"browser: {versions['browser']} ({CHROMIUM}, headless, Playwright), fresh context "
        "per load (first visit), 1280x800, prefers-reduced-motion: reduce",
        "peers from the npm registry: "
        + ", ".join(
            f"{n} {versions[n]}" for n in ("vanilla-cookieconsent", "klaro", "tarteaucitronjs")
        ),
        "site: http://localhost (uvicorn, GZipMiddleware level 9); Kruimel's snippet from "
        "kruimel serve on http://127.0.0.1 (another origin)",
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, load average at the end "
        f"{load_avg[0]:.1f} / {load_avg[1]:.1f} / {load_avg[2]:.1f} (shared with other work)",
        f"{args.loads} interleaved rounds; settle {args.settle} ms x rate after the banner",
        "bytes: response bodies as transferred (all requests of the page); +bytes: over the "
        "baseline; visible: banner first visible (ms from navigation); script: "
        "ScriptDuration; TBT: long tasks over 50 ms; +FP/+FCP, FCP/base: medians of the "
        "paired delays and ratios against the baseline of the same round; CLS: median and "
        "worst load",
        "",
    ]
    for rate in RATES:
        lines += [*table(runs, rate), ""]
    return lines


def _versions() -> dict[str, str]:
    found = {}
    for name in PEER_PACKAGES:
        package = PEERS / name / "package.json"
        if not package.is_file():
            sys.exit(f"{package} is missing: install the peers with  make bench-deps")
        found[name] = json.loads(package.read_text(encoding="utf-8"))["version"]
    return found


def _config(work: Path, site_origin: str) -> Path:
    path = work / "kruimel.toml"
    path.write_text(
        f'[store]\nurl = "chdb://{work / "store"}"\n\n'
        '[consent]\ncontroller = "The Bakery"\nprivacy_url = "/privacy"\n'
        'policy_version = "2026-12"\ndefault_language = "en"\n'
        f'cors_origins = ["{site_origin}"]\nservices = ["hotjar", "pardot"]\n'
        "categories = { preferences = false }\n\n"
        f'[analytics]\n\n[[analytics.sites]]\ndomain = "localhost"\norigins = ["{site_origin}"]\n',
        encoding="utf-8",
    )
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=25, help="rounds (loads per variant)")
    parser.add_argument("--quick", action="store_true", help="3 rounds; prints only")
    parser.add_argument("--settle", type=int, default=500, help="ms to wait after the banner")
    parser.add_argument("--json", type=Path, help="also write the medians here, as JSON")
    args = parser.parse_args(argv)
    full = not args.quick and args.loads == 25
    if args.quick:
        args.loads = min(args.loads, 3)
    versions = _versions()
    if not Path(CHROMIUM).is_file():
        sys.exit(f"{CHROMIUM} is missing: sudo apt-get install -y chromium (or make browser-deps)")
    with tempfile.TemporaryDirectory(prefix="kruimel-banner-bench-") as tmp:
        work = Path(tmp)
        site_port, collector_port = free_port(), free_port()
        site_origin = f"http://localhost:{site_port}"
        config = _config(work, site_origin)
        collector = Server(
            [str(BIN / "kruimel"), "serve", "--config", str(config)]
            + ["--port", str(collector_port), "--data-dir", str(work / "data")],
            collector_port,
            ready_path="/healthz",
            cwd=work,
        )
        site = Server(
            [sys.executable, "-m", "uvicorn", "banner_pages:create_app", "--factory"]
            + ["--app-dir", str(HERE), "--host", "127.0.0.1", "--port", str(site_port)]
            + ["--lifespan", "off", "--log-level", "warning"],
            site_port,
            ready_path="/baseline.html",
            env={
                "KRUIMEL_BENCH_COLLECTOR": f"http://127.0.0.1:{collector_port}",
                "KRUIMEL_BENCH_CONFIG": str(config),
            },
            host="localhost",
        )
        collector.start(work / "collector.log")
        try:
            site.start(work / "site.log")
            try:
                with sync_playwright() as p:
                    browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                    try:
                        versions["browser"] = f"Chromium {browser.version}"
                        runs = run(browser, site.url, args.loads, args.settle)
                    finally:
                        browser.close()
            finally:
                site.stop()
        finally:
            collector.stop()
    lines = report(runs, args, versions)
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps(medians(runs)), encoding="utf-8")
    if full:  # bench/results/ keeps the full runs
        RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
