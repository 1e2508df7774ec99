"""Killing the server under load: is an acknowledged page view or decision ever lost or stored
twice?

``kruimel serve`` (uvicorn, the stack it picks; embedded chDB store, journals on) runs in a
subprocess. Client threads (HTTP/1.1 keep-alive, ``httpx``) send page views, each with a
path of its own (``/p/<n>``) so stored rows can be matched, and consent decisions (``POST
/_consent``, the consent id read from the answer), continuously. At seeded random moments
the server is killed, with SIGKILL or (in about a third of the cycles) SIGTERM, and
restarted on the same data dir while the clients keep sending. At the end it is stopped
cleanly and the store is read (``events``, ``consent_log``). The harness is
``tests/durakit.py``; ``tests/store/test_durability.py`` runs a small version of it.

    .venv/bin/python bench/durability.py [--cycles 10] [--seed 3] [--quick]

``--quick`` (3 cycles) only prints; a full run writes bench/results/durability.txt as well.
Exits 1 when an acknowledged page view or decision is missing or stored twice, or a row was
stored that nobody sent. Requests whose answer never arrived (the server died first) may be
stored or not: the client cannot know, and they are counted apart.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kruimel.stack import serving_stack  # noqa: E402
from tests.durakit import Outcome, run  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "durability.txt"


def report(outcome: Outcome, args: argparse.Namespace) -> list[str]:
    """The report lines for ``outcome``."""
    tally = outcome.tally
    load = os.getloadavg()
    kills = sum(1 for k in outcome.kills if k == "SIGKILL")
    restarts = sorted(outcome.restart_seconds[1:])
    lines = [
        "Durability: kruimel serve killed under load, restarted on the same data dir",
        f"serving stack: {serving_stack()}, one process, 127.0.0.1; embedded chDB store, "
        "journals on",
        f"client: {args.threads} threads, HTTP/1.1 keep-alive (httpx), "
        f"{args.decisions:.0%} consent decisions, the rest page views",
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, load average "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (shared with other work)",
        f"seed {args.seed}: {len(outcome.kills)} cycles of "
        f"{args.min_seconds:g}..{args.max_seconds:g} s ({kills} SIGKILL, "
        f"{len(outcome.kills) - kills} SIGTERM: "
        f"{' '.join(k.removeprefix('SIG') for k in outcome.kills)}), "
        f"flush_seconds {args.flush_seconds:g}, {outcome.seconds:.0f} s in all",
        f"restart to first answer: {restarts[0]:.1f}..{restarts[-1]:.1f} s (journal replay "
        "included)"
        if restarts
        else "no restarts",
        "",
        f"{'':28}{'acked':>8}{'stored':>8}{'lost':>6}{'twice':>7}{'no answer':>11}"
        f"{'of which stored':>17}{'refused':>9}",
        f"{'page views (202)':28}{len(tally.events_acked):>8}{len(outcome.events_stored):>8}"
        f"{outcome.events_lost:>6}{outcome.events_duplicated:>7}"
        f"{len(tally.events_unanswered):>11}{outcome.events_unacked_stored:>17}"
        f"{tally.events_refused:>9}",
        f"{'consent decisions (200+id)':28}{len(tally.decisions_acked):>8}"
        f"{len(outcome.decisions_stored):>8}{outcome.decisions_lost:>6}"
        f"{outcome.decisions_duplicated:>7}{tally.decisions_unanswered:>11}"
        f"{outcome.decisions_unacked_stored:>17}{tally.decisions_refused:>9}",
        "(no answer: sent, but the server died before the client read the answer; storing "
        "such a request or not are both correct. refused: answered but not acknowledged, "
        "e.g. 503 while starting)",
        f"requests that found no server (refused connection, never sent): {tally.not_connected}",
        f"page views in the pages_daily rollup (materialised view): "
        f"{outcome.rollup_pageviews}, events rows: {sum(outcome.events_stored.values())}",
        f"stored page views nobody sent: {outcome.events_foreign}; journal segments left after "
        f"the clean stop: {len(outcome.journal_left)}",
        "",
        f"RESULT: {outcome.events_lost + outcome.decisions_lost} acknowledged lost, "
        f"{outcome.events_duplicated + outcome.decisions_duplicated} stored twice "
        f"({len(tally.events_acked) + len(tally.decisions_acked)} acknowledged, "
        f"{len(outcome.kills)} kills)",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=10, help="kills and restarts")
    parser.add_argument("--seed", type=int, default=3, help="seeds kill moments and the mix")
    parser.add_argument("--min-seconds", type=float, default=1.0, help="shortest cycle")
    parser.add_argument("--max-seconds", type=float, default=5.0, help="longest cycle")
    parser.add_argument("--threads", type=int, default=4, help="client threads")
    parser.add_argument("--decisions", type=float, default=0.1, help="share of decisions")
    parser.add_argument(
        "--flush-seconds",
        type=float,
        default=0.5,
        help="the collector's flush_seconds (default 2): shorter means more inserts to kill",
    )
    parser.add_argument("--quick", action="store_true", help="3 cycles; prints only")
    args = parser.parse_args()
    if args.quick:
        args.cycles = 3
    with tempfile.TemporaryDirectory(prefix="kruimel-bench-durability-") as tmp:
        outcome = run(
            Path(tmp),
            cycles=args.cycles,
            seed=args.seed,
            min_seconds=args.min_seconds,
            max_seconds=args.max_seconds,
            threads=args.threads,
            decision_share=args.decisions,
            flush_seconds=args.flush_seconds,
        )
    text = "\n".join(report(outcome, args)) + "\n"
    print(text, end="")
    if not args.quick:  # bench/results/ keeps the full runs
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(text)
    sys.exit(0 if outcome.ok else 1)


if __name__ == "__main__":
    main()
