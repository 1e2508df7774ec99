"""A streaming HTML rewriter: inserts the consent markup and activates allowed gated elements.

One :class:`HtmlRewriter` per response; ``feed(chunk)`` returns what can be sent now and
``finish()`` the rest. It does not build a DOM. Up to ``<body>``, one compiled regular
expression walks the bytes in C, consuming text, comments and every tag that does not
matter *including its attribute values* (so ``<div title="<body>">`` is no ``<body>``),
and stops only at the few tags that do: ``<head>``, ``</head>``, ``<body>``, ``<script>``,
``<iframe>``, and the raw-text elements (``<style>``, ``<textarea>``, ``<title>``...)
whose content is not markup. In the body, where only gated elements are left to find,
literal searches take over (see ``_body_step``): walking every tag of a long body costs
more than a middleware that sees every page may spend. Python code runs a handful of
times per page.

Where things go:

- ``prelude`` (Google Consent Mode defaults) right after ``<head ...>``, so it runs before
  any Google tag; without a ``<head>`` tag, before the first ``<script>`` of a document,
  ``</head>`` or ``<body>``.
- ``head`` (stylesheet and banner script) before ``</head>``; without one, after ``<body>``.
- ``body`` (the banner or the manage control) right after the ``<body ...>`` open tag, not
  before ``</body>``: the banner is ``position: fixed``, so either place gives no layout
  shift, but the start of the body reaches the browser first on a streamed page, comes
  first in keyboard and screen-reader order (the consent question before the content), and
  exists on pages that leave out the optional ``</body>``.

A response that never shows ``<html>``, ``<head>`` or ``<body>`` is a fragment (htmx,
Turbo, an ``innerHTML`` partial) and gets no banner: the page it lands in already has one.
Gated elements are activated in fragments too.

Memory is bounded: an incomplete tag at the end of a chunk is carried over to the next
one, up to :data:`MAX_CARRY` bytes; a longer one (a huge ``data:`` URI) is streamed
through unchanged while a small state machine finds its end.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

__all__ = ["MAX_CARRY", "HtmlRewriter"]

MAX_CARRY = 32 * 1024

_RAW_TEXT = (b"script", b"style", b"iframe", b"textarea", b"title", b"xmp", b"noembed", b"noframes")
_NAMES = rb"head|body|script|iframe|style|textarea|title|xmp|noembed|noframes|html"
_WS = rb"[\t\n\f\r ]"
# The rest of a tag after its name: attributes, where a quote opens a value only after '='.
# Possessive loops: an unterminated quoted value fails the whole tag (it continues in the
# next chunk) instead of backtracking into "the '>' inside the value ends the tag".
_ATTRS = rb"(?:[^>\"'=]++|=" + _WS + rb"*+(?:\"[^\"]*+\"|'[^']*+'|(?=[^\"']))|[\"'])*+>"

# Attributes of a start tag that has no data-consent attribute (values may mention it).
_UNGATED_ATTRS = (
    rb"(?:[^>\"'=d]++|d(?!ata-consent)|="
    + _WS
    + rb"*+(?:\"[^\"]*+\"|'[^']*+'|(?=[^\"']))|[\"'])*+>"
)


def _scan(whole_elements: bytes) -> re.Pattern[bytes]:
    """The scanner: everything that does not matter is consumed in C; it stops at an
    interesting start tag, ``</head``, or a ``<`` whose construct the buffer cuts off."""
    return re.compile(
        rb"(?:[^<]++"  # text
        rb"|<!--(?:>|->|.*?-->)"  # a complete comment (HTML allows <!--> and <!--->)
        + whole_elements
        + rb"|<(?!(?:"
        + _NAMES
        + rb")[\t\n\f\r />])[a-z][^\t\n\f\r />]*+"
        + _ATTRS  # other tags
        + rb"|</(?!head[\t\n\f\r />])[a-z][^\t\n\f\r />]*+"
        + _ATTRS  # end tags but </head>
        + rb"|<[!?](?!--)[^>]*+>"  # doctype, CDATA-ish and processing instructions
        rb"|</(?=[^a-z])[^>]*+>"  # '</' plus a non-letter: a bogus comment up to '>'
        rb"|<(?=[^a-z!?/])"  # a '<' that opens nothing, as in "1 < 2"
        rb")*+"
        rb"(?:(?P<tag><(?P<name>"
        + _NAMES
        + rb")(?=[\t\n\f\r />])(?P<rest>"
        + _ATTRS
        + rb")?)|(?P<endhead></head)(?=[\t\n\f\r />])"
        rb"|(?P<stuck><))?",
        re.IGNORECASE | re.DOTALL,
    )


def _whole(name: bytes, attrs: bytes) -> bytes:
    """A complete raw-text element up to (not including) its end tag, which the next
    round consumes as an ordinary end tag."""
    end = rb"</" + name + rb"[\t\n\f\r />]"
    return (
        rb"|<"
        + name
        + rb"(?=[\t\n\f\r />])"
        + attrs
        + rb"(?:[^<]++|<(?!/"
        + end[2:]
        + rb"))*+(?="
        + end
        + rb")"
    )


_SCAN = _scan(b"")
# Once the prelude is in (right after <head>), ordinary <title>, <style> and <script>
# elements no longer need Python: complete ones are skipped inside the expression. A
# <script> with a data-consent attribute, or one cut off by the chunk's end, still stops it.
_SCAN_WHOLE = _scan(
    _whole(b"title", _ATTRS) + _whole(b"style", _ATTRS) + _whole(b"script", _UNGATED_ATTRS)
)
_GATE = re.compile(
    rb"[\t\n\f\r ]data-consent" + _WS + rb"*=" + _WS + rb"*(\"[^\"]*\"|'[^']*'|[^\t\n\f\r >]+)",
    re.IGNORECASE,
)
_TAG_NAME_END = frozenset({b"\t", b"\n", b"\f", b"\r", b" ", b"/", b">"})
_START_TAG = re.compile(rb"<[a-z][^\t\n\f\r />]*+" + _ATTRS, re.IGNORECASE)
_ATTR = re.compile(
    rb"([^\t\n\f\r />=][^\t\n\f\r />=]*)"
    rb"(?:" + _WS + rb"*=" + _WS + rb"*(\"[^\"]*\"|'[^']*'|[^\t\n\f\r >]*))?"
)
# Inside an oversized tag: the next '>' or the next '=' (with a quote if one follows).
_TAG_STEP = re.compile(rb">|=" + _WS + rb"*+([\"'])?")

_SELF_CLOSING = re.compile(rb"[\t\n\f\r \"']/>\Z")

_NONE = 1 << 62  # "no hit" for min-finding

_DATA, _RAW, _COMMENT, _TAG, _QUOTE = range(5)


class HtmlRewriter:
    """Rewrites one HTML response as it streams.

    :param prelude: inserted right after ``<head>`` (Consent Mode defaults).
    :param head: inserted before ``</head>`` (stylesheet and script links).
    :param body: inserted right after ``<body>`` (the banner or the manage control).
    :param allowed: categories the visitor allows; a gated element is activated when every
        category in its ``data-consent`` is in this set.
    :param nonce: the page's CSP nonce, added to activated scripts.
    """

    def __init__(
        self,
        *,
        prelude: bytes = b"",
        head: bytes = b"",
        body: bytes = b"",
        allowed: frozenset[str] = frozenset(),
        nonce: str | None = None,
    ) -> None:
        self._prelude = prelude
        self._head = head
        self._body = body
        self._allowed = allowed
        self._nonce = nonce.encode("ascii") if nonce else b""
        self._carry = b""
        self._state = _DATA
        self._raw_end = b""
        self._quote = b""
        self._after_tag: Callable[[list[bytes]], None] | None = None
        self._document = False
        self._in_body = False

    # -- public ----------------------------------------------------------------------

    def feed(self, chunk: bytes) -> bytes:
        """Take the next chunk of the body; return the bytes that are ready to send."""
        buf = self._carry + chunk if self._carry else chunk
        self._carry = b""
        out: list[bytes] = []
        self._run(buf, out, final=False)
        return b"".join(out)

    def finish(self) -> bytes:
        """The end of the body: flush the carry and anything not inserted yet."""
        buf, self._carry = self._carry, b""
        out: list[bytes] = []
        self._run(buf, out, final=True)
        if self._document:
            # A document without <body> (it is optional): the browser puts trailing
            # content into the body, so the banner still appears.
            out.append(self._take_prelude() + self._take_head() + self._take_body())
        return b"".join(out)

    # -- insertion points ------------------------------------------------------------

    def _take_prelude(self) -> bytes:
        value, self._prelude = self._prelude, b""
        return value

    def _take_head(self) -> bytes:
        value, self._head = self._head, b""
        return value

    def _take_body(self) -> bytes:
        value, self._body = self._body, b""
        return value

    # -- the scanner -----------------------------------------------------------------

    def _run(self, buf: bytes, out: list[bytes], *, final: bool) -> None:
        pos = 0
        end = len(buf)
        low = buf.lower()  # ASCII-only, so offsets are unchanged
        marks: dict[bytes, int] = {}
        while pos < end:
            state = self._state
            if state == _DATA:
                if self._in_body:
                    pos = self._body_step(buf, low, pos, marks, out, final=final)
                else:
                    pos = self._precise_step(buf, pos, out, final=final)
                if pos < 0:
                    return
            elif state == _RAW:
                closing = self._raw_end
                found = low.find(closing, pos)
                while found >= 0 and low[found + len(closing) : found + len(closing) + 1] not in (
                    _TAG_NAME_END
                ):
                    if found + len(closing) == end and not final:
                        break  # "</script" at the very end: the next chunk tells
                    found = low.find(closing, found + 1)
                if found < 0 or found + len(closing) == end and not final:
                    keep = 0 if final else min(end - pos, len(closing))
                    out.append(buf[pos : end - keep])
                    self._carry = buf[end - keep :]
                    return
                out.append(buf[pos:found])
                pos = found
                self._state = _DATA
            elif state == _COMMENT:
                found = buf.find(b"-->", pos)
                if found < 0:
                    keep = 0 if final else min(end - pos, 2)
                    out.append(buf[pos : end - keep])
                    self._carry = buf[end - keep :]
                    return
                out.append(buf[pos : found + 3])
                pos = found + 3
                self._state = _DATA
            elif state == _QUOTE:
                found = buf.find(self._quote, pos)
                if found < 0:
                    out.append(buf[pos:])
                    return
                out.append(buf[pos : found + 1])
                pos = found + 1
                self._state = _TAG
            else:  # _TAG: inside a start tag too long to carry over
                m = _TAG_STEP.search(buf, pos)
                if m is None:
                    out.append(buf[pos:])
                    return
                if m.group() == b">":
                    out.append(buf[pos : m.end()])
                    pos = m.end()
                    self._state = _DATA
                    if self._after_tag is not None:
                        self._after_tag(out)
                        self._after_tag = None
                elif m.group(1):
                    out.append(buf[pos : m.end()])
                    pos = m.end()
                    self._quote = m.group(1)
                    self._state = _QUOTE
                elif m.end() == end and not final:
                    # "=" at the end of the chunk: a quote may open the value next.
                    out.append(buf[pos : m.start()])
                    self._carry = buf[m.start() :]
                    return
                else:
                    out.append(buf[pos : m.end()])
                    pos = m.end()

    def _precise_step(self, buf: bytes, pos: int, out: list[bytes], *, final: bool) -> int:
        """Up to and through the next interesting construct. Returns the new position or -1."""
        m = (_SCAN if self._prelude else _SCAN_WHOLE).match(buf, pos)
        assert m is not None  # every part of the pattern is optional
        kind = m.lastgroup
        if kind is None:  # consumed to the end of the buffer
            out.append(buf[pos:] if pos else buf)
            return -1
        start = m.start(kind)
        if start > pos:
            out.append(buf[pos:start])
        if kind == "stuck":
            return self._stuck(buf, start, out, final=final)
        if kind == "endhead":
            self._document = True
            out.append(self._take_prelude() + self._take_head())
            out.append(buf[start : m.end()])
            return m.end()
        name = m.group("name").lower()
        if m.group("rest") is None:  # the start tag goes on in the next chunk
            return self._start_tag(buf, start, name, out, final=final)
        return self._start_tag(buf, start, name, out, final=final, stop=m.end())

    def _body_step(
        self,
        buf: bytes,
        low: bytes,
        pos: int,
        marks: dict[bytes, int],
        out: list[bytes],
        *,
        final: bool,
    ) -> int:
        """The fast path once the body has begun: only gated elements are left to find.

        Literal searches (``<!--``, ``<script``, ``<textarea``, ``data-consent``) over the
        lower-cased bytes find the only places that matter; ``marks`` remembers each one's
        next hit, so every search passes over the buffer once. A hit that follows a
        '<' with no '>' after it might sit inside an attribute value: that case takes
        :meth:`_precise_step`. (A value holding both a '>' and a later ``<script`` is the
        one shape this shortcut misreads; it only affects gated elements, never the banner.)
        """
        consent = _next(low, b"data-consent", pos, marks)
        if consent < 0 and final:
            out.append(buf[pos:] if pos else buf)  # nothing left to activate
            return -1
        # "<!" rather than "<!--": a rare last byte lets the search skip ahead.
        comment = _next(low, b"<!", pos, marks)
        while comment >= 0 and not low.startswith(b"<!--", comment):
            marks[b"<!"] = -2
            comment = _next(low, b"<!", comment + 2, marks)
        script = _next(low, b"<script", pos, marks)
        # A <textarea> holds text, not markup: an HTML editor's source must not be rewritten.
        textarea = _next(low, b"<textarea", pos, marks)
        gated = low.rfind(b"<", pos, consent) if consent >= 0 else -1
        start = _NONE
        for hit in (comment, script, textarea, gated):
            if 0 <= hit < start:
                start = hit
        if start == _NONE:
            if final:
                out.append(buf[pos:] if pos else buf)
                return -1
            # Keep what the next chunk may complete: an open tag, or a cut "<scr"/"data-con".
            lt = buf.rfind(b"<", pos)
            cut = lt if lt >= 0 and buf.find(b">", lt) < 0 else max(pos, len(buf) - 12)
            out.append(buf[pos:cut])
            return self._stuck(buf, cut, out, final=False)
        if buf.rfind(b"<", pos, start) > buf.rfind(b">", pos, start):
            return self._precise_step(buf, pos, out, final=final)
        out.append(buf[pos:start])
        if start == comment:
            out.append(b"<!--")
            self._state = _COMMENT
            return start + 4
        for name, hit in ((b"script", script), (b"textarea", textarea)):
            if start == hit:
                after = start + len(name) + 1
                if after == len(low) and not final:
                    return self._stuck(buf, start, out, final=False)  # "<script" + " src=..."
                if low[after : after + 1] in _TAG_NAME_END:
                    return self._start_tag(buf, start, name, out, final=final)
                out.append(b"<")  # "<scripts>" or a name cut by the chunk's end
                return start + 1
        if low.startswith(b"iframe", start + 1) and low[start + 7 : start + 8] in _TAG_NAME_END:
            return self._start_tag(buf, start, b"iframe", out, final=final)
        # data-consent on some other element (or a '<' inside a value): step over the tag.
        m = _START_TAG.match(buf, start)
        if m is None or m.end() <= consent:
            return self._precise_step(buf, start, out, final=final)
        out.append(m.group())
        return m.end()

    def _stuck(self, buf: bytes, pos: int, out: list[bytes], *, final: bool) -> int:
        """A '<' whose construct is not complete in ``buf``. Returns the new position or -1."""
        if final:
            out.append(buf[pos:])
            return -1
        if len(buf) - pos <= MAX_CARRY:
            self._carry = buf[pos:]
            return -1
        # Too long to keep: stream it through while a small state machine finds its end.
        if buf.startswith(b"<!--", pos):
            out.append(b"<!--")
            self._state = _COMMENT
            return pos + 4
        out.append(b"<")
        self._state = _TAG  # a start tag; doctypes and bogus comments also end at '>'
        return pos + 1

    def _start_tag(
        self, buf: bytes, pos: int, name: bytes, out: list[bytes], *, final: bool, stop: int = -1
    ) -> int:
        """Handle one interesting start tag at ``pos`` (ending at ``stop`` when the caller
        knows). Returns the new position or -1."""
        if stop < 0:
            m = _START_TAG.match(buf, pos)
            if m is None:
                if final or len(buf) - pos <= MAX_CARRY:
                    return self._stuck(buf, pos, out, final=final)
                self._oversized(name, out)
                return self._stuck(buf, pos, out, final=final)
            stop = m.end()
        tag = buf[pos:stop]
        if name == b"head":
            self._document = True
            out.append(tag)
            out.append(self._take_prelude())
        elif name == b"body":
            self._document = True
            self._in_body = True
            out.append(self._take_prelude())
            out.append(tag)
            out.append(self._take_head() + self._take_body())
        elif name == b"html":
            self._document = True
            out.append(tag)
        else:
            if name == b"script" and self._document:
                out.append(self._take_prelude())
            if name in (b"script", b"iframe") and b"data-consent" in tag.lower():
                tag = self._activate(tag, name)
            out.append(tag)
            self._raw_end = b"</" + name
            self._state = _RAW
        return stop

    def _oversized(self, name: bytes, out: list[bytes]) -> None:
        """An interesting start tag too long to carry: passed through unchanged, but the
        insertions it anchors still happen and its raw-text content is still skipped."""
        if name in (b"head", b"body", b"html"):
            self._document = True
        if name == b"body" or name == b"script":
            out.append(self._take_prelude())

        def after(out: list[bytes]) -> None:
            if name == b"head":
                out.append(self._take_prelude())
            elif name == b"body":
                out.append(self._take_head() + self._take_body())
            elif name in _RAW_TEXT:
                self._raw_end = b"</" + name
                self._state = _RAW

        self._after_tag = after

    # -- gated elements --------------------------------------------------------------

    def _activate(self, tag: bytes, name: bytes) -> bytes:
        """The start tag with its gate opened, or unchanged when a category is denied."""
        quick = _GATE.search(tag)
        if quick is None or not all(c in self._allowed for c in _text(quick.group(1)).split()):
            # Denied (the common case before a choice): no need to parse every attribute.
            # A look-alike inside another attribute's value can only keep an element inert.
            return tag
        attrs: dict[bytes, tuple[int, int, bytes]] = {}  # name -> (start, end, raw value)
        body_start = len(name) + 1
        for m in _ATTR.finditer(tag, body_start, len(tag) - 1):
            key = m.group(1).lower()
            if key not in attrs:  # the first occurrence wins, as in browsers
                attrs[key] = (m.start(), m.end(), m.group(2) or b"")
        gate = attrs.get(b"data-consent")
        if gate is None or b"data-consent-active" in attrs:
            return tag
        wanted = _text(gate[2]).split()
        if not wanted or not all(category in self._allowed for category in wanted):
            return tag
        extra: list[bytes] = [b" data-consent-active"]
        drop: list[tuple[int, int]] = []
        if name == b"script":
            kind = attrs.get(b"type")
            if kind is None or _text(kind[2]).strip().lower() != "text/plain":
                return tag  # not written as an inert script: leave the author's markup alone
            drop.append((kind[0], kind[1]))
            real = attrs.get(b"data-type")
            if real is not None and real[2]:
                extra.append(b" type=" + real[2])
            if self._nonce and b"nonce" not in attrs:
                extra.append(b' nonce="' + self._nonce + b'"')
        else:
            source = attrs.get(b"data-src")
            if source is None:
                return tag
            drop.append((source[0], source[1]))
            if b"src" in attrs:
                drop.append((attrs[b"src"][0], attrs[b"src"][1]))
            extra.append(b" src=" + source[2])
        parts: list[bytes] = []
        cursor = 0
        for start, stop in sorted(drop):
            parts.append(tag[cursor:start].rstrip(b"\t\n\f\r "))
            cursor = stop
        closing = 2 if _SELF_CLOSING.search(tag) else 1
        parts.append(tag[cursor : len(tag) - closing].rstrip(b"\t\n\f\r "))
        # An unquoted last value would swallow a '/' written right after it.
        return b"".join(parts) + b"".join(extra) + (b" />" if closing == 2 else b">")


def _next(low: bytes, needle: bytes, pos: int, marks: dict[bytes, int]) -> int:
    """The next ``needle`` at or after ``pos``, searching each stretch of ``low`` once."""
    hit = marks.get(needle, -2)
    if hit == -1 or hit >= pos:
        return hit
    hit = low.find(needle, pos)
    marks[needle] = hit
    return hit


def _text(raw: bytes) -> str:
    """An attribute's raw value (with its quotes, if any) as text, entities decoded."""
    if raw[:1] in (b'"', b"'"):
        raw = raw[1:-1]
    text = raw.decode("utf-8", "replace")
    return html.unescape(text) if "&" in text else text
