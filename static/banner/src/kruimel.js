/* Kruimel for static sites, one tag:
     <script src="https://COLLECTOR/_analytics/kruimel.js" data-site="example.nl" defer></script>
   Loads the cookieless tracker, fetches the banner (rendered by the collector for this site),
   adopts it into the page (DOMParser, no innerHTML) and loads banner.js, which posts the choice
   to the collector, keeps the signed answer in a first-party cookie and runs the page's allowed
   <script type="text/plain" data-consent="..."> elements. Built into static/banner/kruimel.js
   by `make assets`, which also writes in the content hashes of the files it loads. */
import {
  consent_cookie as COOKIE,
  consent_prefix as PREFIX,
  event_path as EVENT_PATH,
  optout_cookie as OPTOUT,
  optout_days as OPTOUT_DAYS,
  token_header as TOKEN_HEADER,
  tracker_path as TRACKER_PATH
} from '../../../kruimel/base/shared.json';

// The tag's data-* attributes handed on to the tracker.
const PASS = ['local', 'automation', 'hash', 'outbound', 'downloads'];
/* global ASSET_VERSIONS */
// {"banner.js": "<hash>", ...}: the build defines it, as kruimel.base.assets.asset_version
// computes it, so these URLs are the immutable, year-long cached ones.
const versioned = (path, name) => path + '?v=' + ASSET_VERSIONS[name];

function start(w, d, me) {
  if (!me || (w.kruimel && w.kruimel.snippet)) return;
  (w.kruimel = w.kruimel || {}).snippet = 1;
  const base = new URL(me.src).origin;
  const prefix = me.getAttribute('data-prefix') || PREFIX;
  const site = me.getAttribute('data-site') || location.hostname;
  const lang = (me.getAttribute('data-lang') || d.documentElement.lang || navigator.language || 'nl')
    .slice(0, 2).toLowerCase();
  const nonce = me.nonce || '';

  function load(tag, attrs) {
    return new Promise((ok, fail) => {
      const el = d.createElement(tag);
      Object.keys(attrs).forEach((a) => el.setAttribute(a, attrs[a]));
      if (nonce && tag === 'script') el.nonce = nonce;
      el.onload = ok;
      el.onerror = fail;
      d.head.appendChild(el);
    });
  }

  // Cookieless, first-party-only statistics need no consent (Telecommunicatiewet 11.7a lid 3);
  // the tracker honours GPC and Do Not Track itself.
  const tracker = {
    src: base + versioned(TRACKER_PATH, 'tracker.js'),
    'data-site': site,
    'data-endpoint': base + EVENT_PATH
  };
  PASS.forEach((n) => {
    const v = me.getAttribute('data-' + n);
    if (v != null) tracker['data-' + n] = v;
  });
  load('script', tracker);

  // The visitor's objection to those statistics lives on THIS site, where the tracker reads it
  // (a cookie of the collector's host would never reach it, and the tracker sends none). Any
  // element with data-kruimel-optout toggles it; its labels come from the site's own
  // data-label-optout / data-label-optin attributes, set as text. The cookie holds no identifier.
  const objected = () => new RegExp('(?:^|; )' + OPTOUT + '=1(?:;|$)').test(d.cookie);
  function showObjection() {
    [].forEach.call(d.querySelectorAll('[data-kruimel-optout]'), (el) => {
      const label = el.getAttribute(objected() ? 'data-label-optin' : 'data-label-optout');
      if (label) el.textContent = label;
      el.setAttribute('aria-pressed', objected() ? 'true' : 'false');
    });
  }
  d.addEventListener('click', (e) => {
    const el = e.target.closest && e.target.closest('[data-kruimel-optout]');
    if (!el) return;
    e.preventDefault();
    d.cookie = OPTOUT + (objected() ? '=; Max-Age=0' : '=1; Max-Age=' + OPTOUT_DAYS * 86400) +
      '; Path=/; SameSite=Lax' + (location.protocol === 'https:' ? '; Secure' : '');
    showObjection();
  });
  if (d.readyState === 'loading') d.addEventListener('DOMContentLoaded', showObjection);
  else showObjection();

  const m = d.cookie.match(new RegExp('(?:^|; )' + COOKIE + '=([^;]*)'));
  const headers = {};
  if (m) headers[TOKEN_HEADER] = m[1];
  const assets = base + prefix + '/static/';
  Promise.all([
    // The stylesheet first, so the banner never appears unstyled (no layout shift).
    load('link', { rel: 'stylesheet', href: assets + versioned('banner.css', 'banner.css') }),
    fetch(base + prefix + '/banner?lang=' + encodeURIComponent(lang), { headers, credentials: 'omit' })
      .then((r) => {
        if (!r.ok) throw new Error('kruimel: banner ' + r.status);
        return r.text();
      })
  ]).then((results) => {
    const root = new DOMParser().parseFromString(results[1], 'text/html')
      .querySelector('.kruimel[data-kruimel-prefix]');
    if (!root) return;
    // The consent endpoints live on the collector; the privacy statement stays on this site.
    [].forEach.call(root.querySelectorAll('[href],[action],[formaction]'), (el) => {
      ['href', 'action', 'formaction'].forEach((a) => {
        const v = el.getAttribute(a);
        if (v && v.indexOf(prefix) === 0) el.setAttribute(a, base + v);
      });
    });
    root.setAttribute('data-kruimel-remote', base);
    d.body.appendChild(d.adoptNode(root));
    return load('script', { src: assets + versioned('banner.js', 'banner.js') });
  }).catch((e) => {
    // Without the banner nothing gated runs: failing closed is the safe default.
    console.warn(e);
  });
}

start(window, document, document.currentScript);
