"""The summary as a plain-text report for the terminal (``kruimel summary``).

A pure function of :func:`analytics.summary.summarize`'s dict: a totals block, the time
series as a bar chart of unicode blocks (one bar per day up to 31 days, per month beyond),
then the top pages, sources, referrers, UTM campaigns, browsers, operating systems, devices
and custom events (with their most frequent property values). No colours, no terminal control codes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["format_duration", "format_summary_table"]

_BAR_WIDTH = 40
_NAME_WIDTH = 40
_EIGHTHS = " ▏▎▍▌▋▊▉"
_FULL = "█"
_DAILY_UP_TO = 31
_LABELS = {"os": "OS"}

# (summary key, title, name columns, count columns)
_TABLES: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("pages", "Top pages", ("path",), ("visitors", "pageviews")),
    ("sources", "Sources", ("source",), ("visitors", "visits")),
    ("referrers", "Referrers", ("referrer",), ("visitors", "visits")),
    ("utm", "Campaigns (UTM)", ("source", "medium", "campaign"), ("visitors", "visits")),
    ("browsers", "Browsers", ("browser",), ("visitors", "visits")),
    ("os", "Operating systems", ("os",), ("visitors", "visits")),
    ("devices", "Devices", ("device",), ("visitors", "visits")),
    ("events", "Custom events", ("name",), ("count", "visitors")),
)


def format_summary_table(summary: Mapping[str, Any]) -> str:
    """Render ``summary`` (the dict of :func:`~analytics.summary.summarize`) as text.

    Sections whose list is empty say so in one line rather than printing an empty table.
    """
    period = summary["period"]
    totals = summary["totals"]
    lines = [
        f"{summary['site']}  {period['from']} to {period['to']}",
        "",
        _pairs(
            [
                ("Visitors", f"{totals['visitors']:,}"),
                ("Visits", f"{totals['visits']:,}"),
                ("Pageviews", f"{totals['pageviews']:,}"),
            ]
        ),
        _pairs(
            [
                ("Views per visit", f"{totals['views_per_visit']:.2f}"),
                ("Bounce rate", f"{totals['bounce_rate']} %"),
                ("Visit duration", format_duration(totals["visit_duration"])),
            ]
        ),
        _pairs([("Bots filtered", f"{summary['filtered_bots']:,}")]),
        _pairs([("Objections honoured", _objections(summary.get("objections", {})))]),
        "  (visitors are daily-unique: a visitor on two days counts twice)",
        "",
    ]
    lines += _chart(summary["timeseries"])
    for key, title, names, counts in _TABLES:
        lines.append("")
        lines += _table(title, summary.get(key, []), names, counts)
    return "\n".join(lines) + "\n"


def _objections(counts: Mapping[str, Any]) -> str:
    labels = (("gpc", "GPC"), ("dnt", "DNT"), ("optout", "opt-out"))
    return " · ".join(f"{label} {int(counts.get(key, 0)):,}" for key, label in labels)


def format_duration(seconds: int | float) -> str:
    """``237`` -> ``3m 57s``; ``45`` -> ``45s``; ``3720`` -> ``1h 2m``."""
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    return f"{s // 3600}h {s % 3600 // 60:02d}m"


def _pairs(items: Sequence[tuple[str, str]]) -> str:
    return "  " + "   ".join(f"{label:<15} {value:>8}" for label, value in items)


def _chart(series: Sequence[Mapping[str, Any]]) -> list[str]:
    if len(series) > _DAILY_UP_TO:
        buckets: dict[str, list[int]] = {}
        for point in series:
            bucket = buckets.setdefault(str(point["date"])[:7], [0, 0])
            bucket[0] += int(point["visitors"])
            bucket[1] += int(point["pageviews"])
        rows = [(label, v, p) for label, (v, p) in buckets.items()]
        title = "Visitors per month (pageviews after the bar)"
    else:
        rows = [(str(p["date"]), int(p["visitors"]), int(p["pageviews"])) for p in series]
        title = "Visitors per day (pageviews after the bar)"
    peak = max((v for _, v, _ in rows), default=0)
    out = [title]
    for label, visitors, views in rows:
        out.append(f"  {label:<10} {_bar(visitors, peak)} {visitors:>7,} {views:>9,}")
    return out


def _bar(value: int, peak: int) -> str:
    """A bar of ``_BAR_WIDTH`` cells at most, in eighths of a cell."""
    eighths = round(value / peak * _BAR_WIDTH * 8) if peak else 0
    if value and not eighths:
        eighths = 1  # a non-zero day is never drawn as nothing
    full, part = divmod(eighths, 8)
    bar = _FULL * full + (_EIGHTHS[part] if part else "")
    return bar.ljust(_BAR_WIDTH)


def _table(
    title: str,
    rows: Sequence[Mapping[str, Any]],
    names: tuple[str, ...],
    counts: tuple[str, ...],
) -> list[str]:
    if not rows:
        return [f"{title}: none"]
    label = " / ".join(_LABELS.get(n, n) for n in names)
    label = label[:1].upper() + label[1:]
    header = f"  {label:<{_NAME_WIDTH}}" + "".join(f" {c.capitalize():>10}" for c in counts)
    out = [title, header]
    for row in rows:
        name = " / ".join(str(row.get(n, "")) or "-" for n in names)
        cells = "".join(f" {int(row[c]):>10,}" for c in counts)
        out.append(f"  {_fit(name):<{_NAME_WIDTH}}{cells}")
        props = ", ".join(f"{p['key']}={p['value']} ({p['count']:,})" for p in row.get("props", []))
        if props:
            out.append(f"    {_fit(props, 2 * _NAME_WIDTH)}")
    return out


def _fit(text: str, width: int = _NAME_WIDTH) -> str:
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= width else text[: width - 1] + "…"
