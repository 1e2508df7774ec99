"""Malformed URLs in Origin, Referer and next= are answered, never raised (issue 8 §2):
``urlsplit`` raises ValueError on a broken IPv6 host such as ``http://[``."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from consent.config import ConsentConfig
from consent.endpoints import MAX_BODY, ConsentEndpoints, safe_next
from consent.records import ConsentLog

from ..fuzzkit import FuzzRequest, run

SITE = "https://www.example.nl"
SAME = {"Origin": SITE}
MALFORMED = ["http://[", "http://%5B", "http://[::1", "http://[zz]/", "https://[v7.x]/", "//["]


@pytest.mark.parametrize("value", [*MALFORMED, "http://a:99999", "http://[::1]:99999/x"])
def test_safe_next_falls_back_for_a_malformed_url(value: str) -> None:
    assert safe_next(value, SITE, "/home") == "/home"


@pytest.mark.parametrize("next_url", MALFORMED)
async def test_form_decision_with_a_malformed_next_is_recorded_and_answered(
    client: httpx.AsyncClient, log_rows: Callable[[], int], next_url: str
) -> None:
    # Before: the accept row was written, then urlsplit raised: 500, no cookie.
    response = await client.post(
        "/_consent", data={"accept": "all", "next": next_url}, headers=SAME
    )
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert any(c.startswith("kruimel_consent=") for c in response.headers.get_list("set-cookie"))
    assert log_rows() == 1  # the one decision the visitor got


async def test_the_issue_form_body_verbatim(
    client: httpx.AsyncClient, log_rows: Callable[[], int]
) -> None:
    # The body as the issue sent it: "%5B" decodes to "[" in the form's next.
    response = await client.post(
        "/_consent",
        content=b"accept=all&next=http://%5B",
        headers={**SAME, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert any(c.startswith("kruimel_consent=") for c in response.headers.get_list("set-cookie"))
    assert log_rows() == 1


async def test_form_decision_with_a_malformed_referer_falls_back(
    client: httpx.AsyncClient, log_rows: Callable[[], int]
) -> None:
    # no next=: the Referer is where the visitor goes back to (the Origin vouches for it)
    response = await client.post(
        "/_consent", data={"accept": "none"}, headers={**SAME, "Referer": "http://["}
    )
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert log_rows() == 1


@pytest.mark.parametrize("header", ["Origin", "Referer"])
@pytest.mark.parametrize("value", MALFORMED)
@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/_consent"), ("DELETE", "/_consent"), ("POST", "/_consent/optout")],
)
async def test_malformed_origin_or_referer_is_refused_not_raised(
    client: httpx.AsyncClient,
    log_rows: Callable[[], int],
    header: str,
    value: str,
    method: str,
    path: str,
) -> None:
    response = await client.request(
        method, path, json={"accept": "all", "optout": True}, headers={header: value}
    )
    assert response.status_code == 403 and "error" in response.json()
    assert not response.headers.get_list("set-cookie")
    assert log_rows() == 0


@pytest.mark.parametrize("value", MALFORMED)
async def test_banner_and_policy_with_a_malformed_next(
    client: httpx.AsyncClient, value: str
) -> None:
    banner = await client.get("/_consent/banner", params={"next": value})
    assert banner.status_code == 200
    assert 'name="next" value="/"' in banner.text
    from_referer = await client.get("/_consent/banner", headers={"Referer": value})
    assert from_referer.status_code == 200
    policy = await client.get("/_consent/policy", params={"next": value})
    assert policy.status_code == 200


@pytest.mark.parametrize("declared", [b"\xb2", b"\xb9\xb2\xb3", b"-1", b"1e9"])
async def test_a_content_length_that_is_no_number_is_not_a_500(
    config: ConsentConfig, consent_log: ConsentLog, declared: bytes
) -> None:
    # "²" (0xb2 in latin-1) passes str.isdigit() but not int()
    app = ConsentEndpoints(config, consent_log)
    body = b'{"accept": "all"}'
    headers = [
        (b"host", b"www.example.nl"),
        (b"content-type", b"application/json"),
        (b"content-length", declared),
    ]
    exchange = await run(app, FuzzRequest("POST", b"/_consent", b"", headers, [body]))
    assert exchange.error is None
    assert exchange.status == 200
    big = await run(app, FuzzRequest("POST", b"/_consent", b"", headers, [b" " * (MAX_BODY + 1)]))
    assert big.status == 413
