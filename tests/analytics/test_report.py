from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from analytics.report import format_duration, format_summary_table


def summary(days: int = 3, **overrides: Any) -> dict[str, Any]:
    start = dt.date(2026, 3, 14)
    base: dict[str, Any] = {
        "site": "example.nl",
        "period": {"from": "2026-03-14", "to": (start + dt.timedelta(days - 1)).isoformat()},
        "totals": {
            "visitors": 12345,
            "visits": 15000,
            "pageviews": 40000,
            "views_per_visit": 2.67,
            "bounce_rate": 42,
            "visit_duration": 237,
        },
        "timeseries": [
            {
                "date": (start + dt.timedelta(i)).isoformat(),
                "visitors": [10, 0, 5][i % 3],
                "pageviews": [30, 0, 9][i % 3],
            }
            for i in range(days)
        ],
        "pages": [
            {"path": "/", "visitors": 9000, "pageviews": 20000},
            {"path": "/blog/" + "x" * 80, "visitors": 10, "pageviews": 11},
        ],
        "sources": [{"source": "Google", "visitors": 7, "visits": 8}],
        "referrers": [],
        "utm": [
            {"source": "newsletter", "medium": "email", "campaign": "", "visitors": 1, "visits": 2}
        ],
        "browsers": [{"browser": "Firefox", "visitors": 3, "visits": 4}],
        "os": [{"os": "Linux", "visitors": 3, "visits": 4}],
        "devices": [{"device": "desktop", "visitors": 3, "visits": 4}],
        "events": [
            {
                "name": "Signup",
                "count": 5,
                "visitors": 4,
                "props": [{"key": "plan", "value": "pro", "count": 3}],
            }
        ],
        "filtered_bots": 321,
    }
    return base | overrides


def test_report_totals_block() -> None:
    text = format_summary_table(summary())
    assert text.startswith("example.nl  2026-03-14 to 2026-03-16\n")
    assert "Visitors          12,345" in text
    assert "Pageviews         40,000" in text
    assert "Views per visit     2.67" in text
    assert "Bounce rate         42 %" in text
    assert "Visit duration    3m 57s" in text
    assert "Bots filtered        321" in text
    assert "daily-unique" in text


def test_report_objections_honoured() -> None:
    text = format_summary_table({**summary(), "objections": {"gpc": 1200, "dnt": 3, "optout": 9}})
    assert "Objections honoured GPC 1,200 · DNT 3 · opt-out 9" in text


def test_report_daily_bars_scale_to_the_peak() -> None:
    lines = format_summary_table(summary()).splitlines()
    chart = lines[lines.index("Visitors per day (pageviews after the bar)") + 1 :][:3]
    assert chart[0].startswith("  2026-03-14 " + "█" * 40 + "      10        30")
    assert chart[1] == "  2026-03-15 " + " " * 40 + "       0         0"
    assert chart[2].startswith("  2026-03-16 " + "█" * 20 + " " * 20)


def test_report_long_periods_chart_per_month() -> None:
    text = format_summary_table(summary(days=40))
    assert "Visitors per month" in text
    # 2026-03-14..31 is 18 days, 2026-04-01..22 the other 22
    march = sum([10, 0, 5][i % 3] for i in range(18))
    april = sum([10, 0, 5][i % 3] for i in range(18, 40))
    assert april > march
    assert f"  2026-04    {'█' * 40} {april:>7,}" in text
    assert "  2026-03    " in text and f" {march:>7,} " in text
    assert "2026-03-14" not in text.split("Visitors per month")[1]


def test_report_tables_sorted_as_given_and_truncated() -> None:
    lines = format_summary_table(summary()).splitlines()
    pages = lines.index("Top pages")
    assert lines[pages + 1].split() == ["Path", "Visitors", "Pageviews"]
    assert lines[pages + 2].split() == ["/", "9,000", "20,000"]
    long_path = lines[pages + 3]
    assert "…" in long_path and len(long_path) == 2 + 40 + 11 + 11
    assert "Referrers: none" in lines
    assert "  newsletter / email / -" in "\n".join(lines)
    events = lines.index("Custom events")
    assert lines[events + 1].split() == ["Name", "Count", "Visitors"]
    assert lines[events + 2].split() == ["Signup", "5", "4"]
    assert lines[events + 3] == "    plan=pro (3)"
    assert lines[lines.index("Operating systems") + 1].split()[0] == "OS"


def test_report_neutralises_control_characters() -> None:
    evil = summary(pages=[{"path": "/\x1b[31mred", "visitors": 1, "pageviews": 1}])
    text = format_summary_table(evil)
    assert "\x1b" not in text
    assert "/?[31mred" in text


def test_report_tiny_non_zero_days_still_show_a_bar() -> None:
    series = [
        {"date": "2026-03-14", "visitors": 10_000, "pageviews": 1},
        {"date": "2026-03-15", "visitors": 1, "pageviews": 1},
    ]
    text = format_summary_table(summary(timeseries=series))
    assert "  2026-03-15 ▏" in text


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0s"), (45, "45s"), (237, "3m 57s"), (3720, "1h 02m")]
)
def test_report_format_duration(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text
