"""The server-rendered banner markup: equal buttons, no pre-ticked boxes, escaping, nl/en,
forms that work without JavaScript, and the fingerprint of what was shown."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest

from consent.banner import (
    TEXTS,
    banner_fingerprint,
    render_banner,
    render_head,
    render_manage,
    render_settings_form,
    render_settings_layer,
)
from consent.config import Category, ConsentConfig, CookieSpec, Service
from consent.policy import policy_data
from consent.presets import preset
from consent.state import ConsentState

KEYS = ("k" * 32,)
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None]
    children: list[Node] = field(default_factory=list)
    text: str = ""

    def find_all(self, tag: str, **attrs: str | None) -> list[Node]:
        found = []
        for child in self.children:
            if child.tag == tag and all(child.attrs.get(k) == v for k, v in attrs.items()):
                found.append(child)
            found.extend(child.find_all(tag, **attrs))
        return found

    def all_text(self) -> str:
        return self.text + "".join(c.all_text() for c in self.children)


_VOID = {"input", "br", "img", "link", "meta", "hr"}


class _Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        if tag not in _VOID:
            assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].text += data


def parse(html: str) -> Node:
    tree = _Tree()
    tree.feed(html)
    tree.close()
    assert tree.stack == [tree.root], "unclosed elements"
    return tree.root


def config(**overrides: object) -> ConsentConfig:
    options: dict[str, object] = dict(
        controller="Bakkerij De Kruimel",
        privacy_url="/privacy",
        policy_version="2026-11",
        services=(preset("pardot"), preset("hotjar"), preset("youtube")),
        secret_keys=KEYS,
    )
    options.update(overrides)
    return ConsentConfig(**options)  # type: ignore[arg-type]


def banner(cfg: ConsentConfig, state: ConsentState | None = None, lang: str = "nl") -> Node:
    state = state or ConsentState.undecided(cfg)
    return parse(render_banner(cfg, state=state, lang=lang, next_url="/page?a=1&b=2", nonce="n"))


def layer(cfg: ConsentConfig, state: ConsentState | None = None, lang: str = "nl") -> Node:
    state = state or ConsentState.undecided(cfg)
    return parse(render_settings_layer(cfg, state=state, lang=lang, next_url="/page?a=1"))


def first_layer_buttons(root: Node) -> list[Node]:
    (layer,) = [d for d in root.find_all("div") if "kruimel-first" in (d.attrs["class"] or "")]
    return layer.find_all("button")


def test_first_layer_three_equal_real_buttons() -> None:
    buttons = first_layer_buttons(banner(config()))
    assert [b.all_text() for b in buttons] == ["Alles accepteren", "Alles weigeren", "Instellingen"]
    assert {b.attrs["class"] for b in buttons} == {"kruimel-btn"}
    assert all(b.attrs["type"] == "submit" for b in buttons)
    accept, reject, settings = buttons
    assert (accept.attrs["name"], accept.attrs["value"]) == ("accept", "all")
    assert (reject.attrs["name"], reject.attrs["value"]) == ("accept", "none")
    # Without JavaScript, Settings opens the settings form on the policy page.
    assert settings.attrs["formaction"] == "/_consent/policy"
    assert settings.attrs["formmethod"] == "get"


def test_first_layer_names_controller_purposes_refusal_withdrawal_and_links() -> None:
    root = banner(config())
    text = root.all_text()
    assert "Bakkerij De Kruimel" in text
    for purpose in ("voorkeuren", "statistieken", "marketing"):
        assert purpose in text
    assert "Alles weigeren" in text and "intrekken" in text
    hrefs = [a.attrs["href"] for a in root.find_all("a")]
    assert "/privacy" in hrefs
    assert "/_consent/policy?lang=nl" in hrefs


def test_banner_forms_post_to_prefix_with_next_field() -> None:
    root = banner(config(prefix="/cookiekeuze"))
    (banner_root,) = root.find_all("div", id="kruimel-banner")
    assert banner_root.attrs["data-kruimel-prefix"] == "/cookiekeuze"
    posts = [f for f in root.find_all("form") if f.attrs["method"] == "post"]
    assert posts and all(f.attrs["action"] == "/cookiekeuze" for f in posts)
    for form in posts:
        (nxt,) = form.find_all("input", name="next")
        assert nxt.attrs["value"] == "/page?a=1&b=2"


def test_banner_root_is_labelled_region_with_lang_and_heading() -> None:
    for lang in ("nl", "en"):
        (root,) = banner(config(), lang=lang).find_all("div", id="kruimel-banner")
        assert root.attrs["role"] == "region"
        assert root.attrs["aria-label"] == TEXTS[lang]["region"]
        assert root.attrs["lang"] == lang
        assert root.find_all("h2")
        assert "aria-modal" not in root.attrs


def test_settings_undecided_no_optional_box_ticked_necessary_always_on() -> None:
    root = layer(config())
    boxes = {b.attrs["value"]: b for b in root.find_all("input", type="checkbox")}
    assert set(boxes) == {"necessary", "preferences", "analytics", "marketing"}
    assert "checked" in boxes["necessary"].attrs and "disabled" in boxes["necessary"].attrs
    for name in ("preferences", "analytics", "marketing"):
        assert "checked" not in boxes[name].attrs
        assert "disabled" not in boxes[name].attrs


def test_settings_gpc_marketing_never_ticked_and_explained() -> None:
    cfg = config()
    root = banner(cfg, ConsentState.undecided(cfg, gpc=True))
    (marketing,) = layer(cfg, ConsentState.undecided(cfg, gpc=True)).find_all(
        "input", value="marketing"
    )
    assert "checked" not in marketing.attrs
    assert "Global Privacy Control" in root.all_text()
    (banner_root,) = root.find_all("div", id="kruimel-banner")
    assert banner_root.attrs["data-gpc"] == "true"
    assert "data-gpc" not in banner(cfg).find_all("div", id="kruimel-banner")[0].attrs


def test_settings_decided_shows_the_choice_made() -> None:
    cfg = config()
    state = ConsentState.decide(cfg, {"analytics": True})
    html = render_settings_form(cfg, state=state, lang="en", next_url="/")
    boxes = {b.attrs["value"]: b for b in parse(html).find_all("input", type="checkbox")}
    assert "checked" in boxes["analytics"].attrs
    assert "checked" not in boxes["marketing"].attrs
    assert "checked" not in boxes["preferences"].attrs


def test_settings_form_fields_match_contract() -> None:
    cfg = config()
    html = render_settings_form(cfg, state=ConsentState.undecided(cfg), lang="nl", next_url="/x")
    root = parse(html)
    settings, withdraw = root.find_all("form")
    (save,) = settings.find_all("button", value="custom")
    assert save.attrs["name"] == "accept" and save.attrs["type"] == "submit"
    assert {b.attrs["name"] for b in settings.find_all("input", type="checkbox")} == {"categories"}
    # Refusing from the settings posts through a form holding no checkboxes.
    (refuse,) = settings.find_all("button", value="none")
    assert refuse.attrs["form"] == withdraw.attrs["id"]
    assert not withdraw.find_all("input", type="checkbox")


def test_settings_lists_services_and_cookies_per_category() -> None:
    cfg = config()
    root = layer(cfg, lang="en")
    cats = [d for d in root.find_all("div") if d.attrs.get("class") == "kruimel-cat"]
    by_name = {c.find_all("input")[0].attrs["value"]: c for c in cats}
    marketing = by_name["marketing"].all_text()
    assert "Salesforce Account Engagement (Pardot)" in marketing and "YouTube" in marketing
    assert "visitor_id*" in marketing and "10 years" in marketing
    assert "_hjSession_*" in by_name["analytics"].all_text()
    assert "30 minutes" in by_name["analytics"].all_text()
    assert "kruimel_consent" in by_name["necessary"].all_text()
    assert all(c.find_all("details") for c in cats)


def test_render_escapes_hostile_config_text() -> None:
    evil_cookie = CookieSpec("evil", {"nl": HOSTILE, "en": HOSTILE}, 1, provider=HOSTILE)
    service = Service(
        "evil",
        HOSTILE,
        "marketing",
        HOSTILE,
        {"nl": HOSTILE, "en": HOSTILE},
        (evil_cookie,),
        privacy_url='https://x.example/"><script>alert(2)</script>',
    )
    category = Category("marketing", {"nl": HOSTILE, "en": HOSTILE}, {"nl": HOSTILE, "en": HOSTILE})
    necessary = Category("necessary", {"nl": "N", "en": "N"}, {"nl": "N", "en": "N"}, True)
    cfg = config(controller=HOSTILE, categories=(necessary, category), services=(service,))
    state = ConsentState.undecided(cfg)
    for html in (
        render_banner(cfg, state=state, lang="nl", next_url='/"><script>x</script>', nonce="n"),
        render_manage(cfg, state=state, lang="en", next_url='/"><script>x</script>', nonce="n"),
        render_settings_layer(cfg, state=state, lang="en", next_url='/"><script>x</script>'),
    ):
        assert "<script" not in html
        assert "<img" not in html
        assert "&lt;script&gt;" in html
        parse(html)  # still well-formed: no attribute was broken out of


def test_render_without_inline_styles_handlers_or_scripts() -> None:
    cfg = config()
    state = ConsentState.undecided(cfg, gpc=True)
    for html in (
        render_banner(cfg, state=state, lang="nl", next_url="/", nonce="n"),
        render_manage(cfg, state=ConsentState.decide(cfg, {}), lang="en", next_url="/", nonce=None),
        render_settings_layer(cfg, state=state, lang="nl", next_url="/"),
    ):
        assert " style=" not in html
        assert not re.search(r"\son[a-z]+=", html)
        assert "<script" not in html


@pytest.mark.parametrize(
    ("lang", "accept", "reject", "settings"),
    [
        ("nl", "Alles accepteren", "Alles weigeren", "Instellingen"),
        ("en", "Accept all", "Reject all", "Settings"),
    ],
)
def test_render_language_texts(lang: str, accept: str, reject: str, settings: str) -> None:
    buttons = first_layer_buttons(banner(config(), lang=lang))
    assert [b.all_text() for b in buttons] == [accept, reject, settings]


def test_render_manage_after_decision_opens_settings_without_js() -> None:
    cfg = config(manage_button="bottom-right")
    html = render_manage(
        cfg, state=ConsentState.decide(cfg, {}), lang="en", next_url="/a", nonce=None
    )
    root = parse(html)
    (manage,) = root.find_all("div", id="kruimel-manage")
    assert manage.attrs["data-kruimel-prefix"] == "/_consent"
    assert manage.attrs["data-position"] == "bottom-right"
    assert manage.attrs["data-decided"] == "true"
    (form,) = [f for f in root.find_all("form") if f.attrs["method"] == "get"]
    assert form.attrs["action"] == "/_consent/policy"
    assert "hidden" not in form.attrs
    (button,) = form.find_all("button")
    assert button.all_text() == "Cookie settings"
    assert not root.find_all("div", id="kruimel-banner")


def test_render_cached_markup_keeps_each_next_url() -> None:
    cfg = config()
    state = ConsentState.undecided(cfg)
    one = render_banner(cfg, state=state, lang="nl", next_url="/one", nonce=None)
    two = render_banner(cfg, state=state, lang="nl", next_url="/two?x=<y>", nonce=None)
    assert 'value="/one"' in one and "/two" not in one
    assert 'value="/two?x=&lt;y&gt;"' in two and "/one" not in two
    gpc = render_banner(
        cfg, state=ConsentState.undecided(cfg, gpc=True), lang="nl", next_url="/one", nonce=None
    )
    assert "Global Privacy Control" in gpc and "Global Privacy Control" not in one


def test_render_head_links_assets_with_nonce_on_script() -> None:
    head = parse(render_head(config(prefix="/ck"), lang="nl", nonce="abc123"))
    (link,) = head.find_all("link")
    (script,) = head.find_all("script")
    assert re.fullmatch(r"/ck/static/banner\.css\?v=[0-9a-f]{12}", link.attrs["href"] or "")
    assert re.fullmatch(r"/ck/static/banner\.js\?v=[0-9a-f]{12}", script.attrs["src"] or "")
    assert script.attrs["nonce"] == "abc123" and "defer" in script.attrs
    assert (
        "nonce"
        not in parse(render_head(config(), lang="nl", nonce=None)).find_all("script")[0].attrs
    )


def test_fingerprint_stable_for_same_text_and_config() -> None:
    one, two = config(), config()
    assert banner_fingerprint(one, "nl") == banner_fingerprint(two, "nl")
    assert re.fullmatch(r"[0-9a-f]{64}", banner_fingerprint(one, "nl"))


@pytest.mark.parametrize(
    "change",
    [
        {"controller": "Andere B.V."},
        {"policy_version": "2027-01"},
        {"privacy_url": "/privacyverklaring"},
        {"services": (preset("pardot"), preset("hotjar"))},
        {"services": (preset("pardot", account_id="999"), preset("hotjar"), preset("youtube"))},
    ],
)
def test_fingerprint_changes_when_config_shown_changes(change: dict[str, object]) -> None:
    assert banner_fingerprint(config(), "nl") != banner_fingerprint(config(**change), "nl")


def test_fingerprint_changes_with_language_and_banner_text(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = config()
    before = banner_fingerprint(cfg, "nl")
    assert banner_fingerprint(cfg, "en") != before
    monkeypatch.setitem(TEXTS["nl"], "title", "Andere titel")
    assert banner_fingerprint(cfg, "nl") != before


def test_pages_carry_the_state_not_the_settings_layer() -> None:
    """The settings layer is fetched when opened (render_settings_layer); the banner and the
    manage control say the state in data-categories, which banner.js reads."""
    cfg = config()
    decided = ConsentState.decide(cfg, {"analytics": True})
    for html, state in (
        (render_banner(cfg, state=ConsentState.undecided(cfg), lang="nl", next_url="/", nonce=None),
         {"necessary": True, "preferences": False, "analytics": False, "marketing": False}),
        (render_manage(cfg, state=decided, lang="nl", next_url="/", nonce=None),
         {"necessary": True, "preferences": False, "analytics": True, "marketing": False}),
    ):  # fmt: skip
        root = parse(html)
        assert not root.find_all("input", type="checkbox")
        assert "kruimel-settings" not in html
        (top,) = [d for d in root.find_all("div") if "data-categories" in d.attrs]
        assert json.loads(top.attrs["data-categories"]) == state
    (settings,) = layer(cfg, decided).find_all("div", id=None)[:1]
    assert "kruimel-settings" in (settings.attrs["class"] or "") and "hidden" in settings.attrs


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_banner_and_declaration_page_state_each_lifetime_in_one_form(lang: str) -> None:
    # Issue 8/9: the banner said "182 dagen" where the declaration page said "6 maanden".
    cfg = config()
    text = layer(cfg, lang=lang).all_text()
    cookies = [
        c
        for cat in policy_data(cfg, lang)["categories"]
        for s in cat["services"]
        for c in s["cookies"]
    ]
    assert cookies
    label = TEXTS[lang]["lifetime"]
    for cookie in cookies:
        assert f"{label}: {cookie['lifetime']};" in text, cookie["name"]
    kruimel = {c["name"]: c["lifetime"] for c in cookies if c["name"].startswith("kruimel_")}
    six, thirteen = ("6 maanden", "13 maanden") if lang == "nl" else ("6 months", "13 months")
    assert kruimel == {"kruimel_consent": six, "kruimel_lang": six, "kruimel_optout": thirteen}


@pytest.mark.parametrize(("lang", "reason"), [("nl", "AVG art. 21"), ("en", "GDPR art. 21")])
def test_declaration_says_why_the_objection_outlives_the_choice(lang: str, reason: str) -> None:
    (optout,) = [
        c
        for cat in policy_data(config(), lang)["categories"]
        for s in cat["services"]
        for c in s["cookies"]
        if c["name"] == "kruimel_optout"
    ]
    assert reason in optout["purpose"] and optout["max_age_days"] == 396
