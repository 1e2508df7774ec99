"""consent.rewrite.HtmlRewriter: insertion points, contexts that are not markup, gated
elements, chunk boundaries and bounded memory."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from consent.rewrite import MAX_CARRY, HtmlRewriter

PRE, HEAD, BODY = b"[PRE]", b"[HEAD]", b"[BODY]"
EVERYTHING = frozenset({"necessary", "preferences", "analytics", "marketing"})


def rewrite(
    chunks: bytes | Iterable[bytes],
    allowed: Iterable[str] = ("necessary",),
    nonce: str | None = None,
) -> bytes:
    parts = [chunks] if isinstance(chunks, bytes) else list(chunks)
    r = HtmlRewriter(prelude=PRE, head=HEAD, body=BODY, allowed=frozenset(allowed), nonce=nonce)
    return b"".join(r.feed(part) for part in parts) + r.finish()


# -- where things go -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        (
            b"<!DOCTYPE html><html><head><title>t</title></head><body><p>x</p></body></html>",
            b"<!DOCTYPE html><html><head>[PRE]<title>t</title>[HEAD]</head>"
            b"<body>[BODY]<p>x</p></body></html>",
        ),
        (  # attributes, upper case, whitespace before '>'
            b'<HTML LANG="nl"><HEAD data-x="1" ><META charset=utf-8></HEAD >'
            b"<BODY CLASS='home'\n>text</BODY>",
            b'<HTML LANG="nl"><HEAD data-x="1" >[PRE]<META charset=utf-8>[HEAD]</HEAD >'
            b"<BODY CLASS='home'\n>[BODY]text</BODY>",
        ),
        (  # no <head> tag: Consent Mode still comes before the first script
            b"<html><script src=gtm.js></script><title>t</title><body>x",
            b"<html>[PRE]<script src=gtm.js></script><title>t</title><body>[HEAD][BODY]x",
        ),
        (  # no </head>: head assets at the start of the body
            b"<html><head><title>t</title><body>x</body>",
            b"<html><head>[PRE]<title>t</title><body>[HEAD][BODY]x</body>",
        ),
        (  # no <body>: the browser puts trailing content into the body
            b"<html><head></head><p>x</p>",
            b"<html><head>[PRE][HEAD]</head><p>x</p>[BODY]",
        ),
        (  # <header> and <bodyguard> are other elements
            b"<head><header>h</header></head><bodyguard></bodyguard><body>b",
            b"<head>[PRE]<header>h</header>[HEAD]</head><bodyguard></bodyguard><body>[BODY]b",
        ),
    ],
)
def test_rewrite_inserts_at_the_right_places(page: bytes, expected: bytes) -> None:
    assert rewrite(page) == expected


@pytest.mark.parametrize(
    "fragment",
    [
        b'<div class="card"><p>Partial for htmx</p></div>',
        b"<li>one</li><li>two</li>",
        b"",
    ],
)
def test_rewrite_leaves_fragments_without_banner(fragment: bytes) -> None:
    assert rewrite(fragment) == fragment


@pytest.mark.parametrize(
    "decoy",
    [
        b"<!-- <head> <body> </head> -->",
        b"<!-- a -- b <body> --->",
        b'<script>var s = "<body>"; if (a<b) { x = "</head>"; }</script>',
        b"<style>p::after { content: '<body>' }</style>",
        b'<meta name="x" content="<body> </head>">',
        b"<meta content='<body>' name=y>",
        b'<div title="a > <body>"></div>',
        b"<textarea><body></textarea>",
        b"<title>Tags like <body> and </head></title>",
    ],
)
def test_rewrite_ignores_tags_inside_comments_scripts_and_values(decoy: bytes) -> None:
    page = b"<html><head>" + decoy + b"</head><body>x</body></html>"
    assert rewrite(page) == (
        b"<html><head>[PRE]" + decoy + b"[HEAD]</head><body>[BODY]x</body></html>"
    )


# -- gated elements ------------------------------------------------------------------

PARDOT = b'<script type="text/plain" data-consent="marketing" src="/pardot.js"></script>'
YOUTUBE = b'<iframe data-consent="marketing" data-src="https://yt.example/embed/1"></iframe>'


@pytest.mark.parametrize(
    ("element", "allowed", "expected"),
    [
        (
            PARDOT,
            {"marketing"},
            b'<script data-consent="marketing" src="/pardot.js" data-consent-active></script>',
        ),
        (PARDOT, {"analytics"}, PARDOT),
        (PARDOT, set(), PARDOT),
        (
            YOUTUBE,
            {"marketing"},
            b'<iframe data-consent="marketing" data-consent-active'
            b' src="https://yt.example/embed/1"></iframe>',
        ),
        (YOUTUBE, {"analytics", "preferences"}, YOUTUBE),
        (  # several categories: all of them are needed
            b"<script type='text/plain' data-consent='analytics marketing'>go()</script>",
            {"analytics"},
            b"<script type='text/plain' data-consent='analytics marketing'>go()</script>",
        ),
        (
            b"<script type='text/plain' data-consent='analytics marketing'>go()</script>",
            {"analytics", "marketing"},
            b"<script data-consent='analytics marketing' data-consent-active>go()</script>",
        ),
        (  # data-type becomes the real type
            b'<script type="text/plain" data-type="module" data-consent="analytics" src=m.js>'
            b"</script>",
            {"analytics"},
            b'<script data-type="module" data-consent="analytics" src=m.js data-consent-active'
            b' type="module"></script>',
        ),
        (  # attribute order, unquoted values, upper case
            b"<SCRIPT SRC=/a.js DATA-CONSENT=analytics TYPE=TEXT/PLAIN></SCRIPT>",
            {"analytics"},
            b"<SCRIPT SRC=/a.js DATA-CONSENT=analytics data-consent-active></SCRIPT>",
        ),
        (  # a placeholder src is replaced; a self-closing slash survives
            b'<iframe src="about:blank" data-consent="marketing" data-src="/v" /></iframe>',
            {"marketing"},
            b'<iframe data-consent="marketing" data-consent-active src="/v" /></iframe>',
        ),
        (  # not written as an inert script: the author's markup is left alone
            b'<script data-consent="marketing" src="/x.js"></script>',
            {"marketing"},
            b'<script data-consent="marketing" src="/x.js"></script>',
        ),
        (  # already active
            b'<iframe data-consent="marketing" data-consent-active src="/v"></iframe>',
            {"marketing"},
            b'<iframe data-consent="marketing" data-consent-active src="/v"></iframe>',
        ),
        (  # an unknown category is never allowed
            b'<script type="text/plain" data-consent="spying">x()</script>',
            {"marketing", "analytics"},
            b'<script type="text/plain" data-consent="spying">x()</script>',
        ),
        (  # an empty gate opens nothing
            b'<script type="text/plain" data-consent="">x()</script>',
            {"marketing"},
            b'<script type="text/plain" data-consent="">x()</script>',
        ),
        (  # entities in the value are decoded
            b'<script type="text&#47;plain" data-consent="marketing">x()</script>',
            {"marketing"},
            b'<script data-consent="marketing" data-consent-active>x()</script>',
        ),
    ],
)
def test_rewrite_activates_gated_elements_per_category(
    element: bytes, allowed: set[str], expected: bytes
) -> None:
    for where in ("head", "body"):
        if where == "head":
            page = b"<html><head>" + element + b"</head><body></body>"
            want = b"<html><head>[PRE]" + expected + b"[HEAD]</head><body>[BODY]</body>"
        else:
            page = b"<html><head></head><body><p>x</p>" + element + b"</body>"
            want = b"<html><head>[PRE][HEAD]</head><body>[BODY]<p>x</p>" + expected + b"</body>"
        assert rewrite(page, allowed) == want, where


def test_rewrite_denied_elements_stay_byte_for_byte() -> None:
    page = b"<html><head>" + PARDOT + b"</head><body>" + YOUTUBE + PARDOT + b"</body>"
    out = rewrite(page, allowed=("necessary", "analytics", "preferences"))
    assert out.count(PARDOT) == 2
    assert out.count(YOUTUBE) == 1
    assert b"data-consent-active" not in out


@pytest.mark.parametrize("where", ["head", "body"])
def test_rewrite_adds_nonce_to_activated_scripts_only(where: str) -> None:
    plain = b"<script>inline()</script>"
    has_nonce = b'<script type="text/plain" data-consent="analytics" nonce="own">a()</script>'
    elements = PARDOT + YOUTUBE + plain + has_nonce
    page = (
        b"<html><head>" + elements + b"</head><body></body>"
        if where == "head"
        else b"<html><head></head><body>" + elements + b"</body>"
    )
    out = rewrite(page, EVERYTHING, nonce="r4nd0m+/=")
    assert out.count(b'nonce="r4nd0m+/="') == 1
    assert b'src="/pardot.js" data-consent-active nonce="r4nd0m+/="></script>' in out
    assert b'nonce="own"' in out and out.count(b"nonce=") == 2
    assert plain in out


@pytest.mark.parametrize(
    "container",
    [
        b"<!-- %s -->",
        b"<script>document.write('%s');</script>",
        b"<textarea>%s</textarea>",
        b'<div data-html="%s"></div>',
    ],
)
def test_rewrite_leaves_gated_markup_inside_non_markup_alone(container: bytes) -> None:
    inner = YOUTUBE.replace(b'"', b"'") if b'"%s"' in container else YOUTUBE
    body = container.replace(b"%s", inner)
    page = b"<html><head></head><body>" + body + b"</body>"
    assert rewrite(page, EVERYTHING) == (
        b"<html><head>[PRE][HEAD]</head><body>[BODY]" + body + b"</body>"
    )


# -- chunk boundaries and memory -----------------------------------------------------

SMALL_PAGE = (
    b'<!DOCTYPE html><html lang="nl"><HEAD><title>a <body> b</title>'
    b'<script>var x = "</head>";</script>'
    b'<script type="text/plain" data-consent="marketing" src="/p.js"></script>'
    b"<!-- <body> --></head>\n"
    b'<body class="x"><p title="<iframe>">1 < 2</p>'
    b"<iframe data-consent='marketing' data-src=/v></iframe>"
    b'<script TYPE="text/plain" data-consent="analytics">a()</script>'
    b"<textarea><script type=text/plain data-consent=marketing></textarea>"
    b"</body></html>"
)


@pytest.mark.parametrize("allowed", [("necessary",), ("necessary", "marketing"), tuple(EVERYTHING)])
def test_rewrite_same_result_for_every_split_point(allowed: tuple[str, ...]) -> None:
    whole = rewrite(SMALL_PAGE, allowed, nonce="n1")
    assert whole.count(BODY) == 1 and whole.count(HEAD) == 1 and whole.count(PRE) == 1
    for i in range(len(SMALL_PAGE) + 1):
        assert rewrite([SMALL_PAGE[:i], SMALL_PAGE[i:]], allowed, nonce="n1") == whole, i
    for i in range(0, len(SMALL_PAGE) + 1, 5):
        for j in range(i, len(SMALL_PAGE) + 1, 3):
            parts = [SMALL_PAGE[:i], SMALL_PAGE[i:j], SMALL_PAGE[j:]]
            assert rewrite(parts, allowed, nonce="n1") == whole, (i, j)


def test_rewrite_same_result_one_byte_at_a_time() -> None:
    chunks = [SMALL_PAGE[i : i + 1] for i in range(len(SMALL_PAGE))]
    assert rewrite(chunks, EVERYTHING) == rewrite(SMALL_PAGE, EVERYTHING)


def test_rewrite_whole_page_expectations() -> None:
    out = rewrite(SMALL_PAGE, ("necessary", "marketing"))
    assert out.startswith(b'<!DOCTYPE html><html lang="nl"><HEAD>[PRE]<title>a <body> b</title>')
    assert b"<!-- <body> -->[HEAD]</head>" in out
    assert b'<body class="x">[BODY]<p title="<iframe>">' in out
    assert b"<iframe data-consent='marketing' data-consent-active src=/v></iframe>" in out
    assert b'<script TYPE="text/plain" data-consent="analytics">a()</script>' in out
    assert b"<textarea><script type=text/plain data-consent=marketing></textarea>" in out


def test_rewrite_streams_without_holding_the_body() -> None:
    r = HtmlRewriter(head=HEAD, body=BODY)
    first = b"<html><head></head><body>" + b"<p>text</p>" * 1000
    out = [r.feed(first)]
    assert len(out[0]) >= len(first) - 16  # all but a short tail goes out at once
    out.append(r.feed(b"<p>more</p>"))
    out.append(r.finish())
    assert len(out[2]) <= 16
    assert b"".join(out) == (
        b"<html><head>[HEAD]</head><body>[BODY]" + b"<p>text</p>" * 1000 + b"<p>more</p>"
    )


def test_rewrite_passes_an_oversized_tag_through_with_bounded_carry() -> None:
    huge = b'<img alt="<body>" src="data:image/png;base64,' + b"A" * (3 * MAX_CARRY) + b'">'
    page = b"<html><head>" + huge + b"</head><body>x</body>"
    r = HtmlRewriter(prelude=PRE, head=HEAD, body=BODY)
    out = []
    for i in range(0, len(page), 4096):
        out.append(r.feed(page[i : i + 4096]))
        assert len(r._carry) <= MAX_CARRY
    out.append(r.finish())
    assert b"".join(out) == b"<html><head>[PRE]" + huge + b"[HEAD]</head><body>[BODY]x</body>"


def test_rewrite_oversized_body_tag_still_gets_the_banner() -> None:
    body_tag = b'<body data-state="' + b"x" * (2 * MAX_CARRY) + b'">'
    page = b"<html><head></head>" + body_tag + b"<p>x</p>"
    chunks = [page[i : i + 1000] for i in range(0, len(page), 1000)]
    assert rewrite(chunks) == b"<html><head>[PRE][HEAD]</head>" + body_tag + b"[BODY]<p>x</p>"


def test_rewrite_long_comment_across_chunks() -> None:
    comment = b"<!-- " + b"<body> " * (MAX_CARRY // 3) + b"-->"
    page = b"<html><head>" + comment + b"</head><body>x"
    chunks = [page[i : i + 777] for i in range(0, len(page), 777)]
    assert rewrite(chunks) == b"<html><head>[PRE]" + comment + b"[HEAD]</head><body>[BODY]x"


def test_rewrite_long_script_across_chunks_in_body() -> None:
    script = b"<script>" + b"var s = '<iframe data-consent=marketing data-src=x>';" * 2000
    page = b"<html><head></head><body>" + script + b"</script>" + YOUTUBE
    chunks = [page[i : i + 1000] for i in range(0, len(page), 1000)]
    out = rewrite(chunks, EVERYTHING)
    assert out.count(b"data-consent-active") == 1
    assert script in out
