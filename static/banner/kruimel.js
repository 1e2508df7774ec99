/* Kruimel for static sites, one tag:
     <script src="https://COLLECTOR/_analytics/kruimel.js" data-site="example.nl" defer></script>
   Loads the cookieless tracker, fetches the banner (rendered by the collector for this site),
   adopts it into the page (DOMParser, no innerHTML) and loads banner.js, which posts the choice
   to the collector, keeps the signed answer in a first-party cookie and runs the page's allowed
   <script type="text/plain" data-consent="..."> elements. */
(function (w, d) {
  'use strict';
  var C = {
    prefix: '/_consent',
    tracker: '/_analytics/script.js',
    endpoint: '/_analytics/api/event',
    cookie: 'kruimel_consent',
    header: 'X-Kruimel-Consent',
    pass: ['local', 'automation', 'hash', 'outbound', 'downloads']
  };
  var me = d.currentScript;
  if (!me || w.kruimel && w.kruimel.snippet) return;
  (w.kruimel = w.kruimel || {}).snippet = 1;
  var base = new URL(me.src).origin;
  var prefix = me.getAttribute('data-prefix') || C.prefix;
  var site = me.getAttribute('data-site') || location.hostname;
  var lang = (me.getAttribute('data-lang') || d.documentElement.lang || navigator.language || 'nl')
    .slice(0, 2).toLowerCase();
  var nonce = me.nonce || '';

  function load(tag, attrs) {
    return new Promise(function (ok, fail) {
      var el = d.createElement(tag);
      Object.keys(attrs).forEach(function (a) { el.setAttribute(a, attrs[a]); });
      if (nonce && tag === 'script') el.nonce = nonce;
      el.onload = ok;
      el.onerror = fail;
      d.head.appendChild(el);
    });
  }

  // Cookieless, first-party-only statistics need no consent (Telecommunicatiewet 11.7a lid 3);
  // the tracker honours GPC and Do Not Track itself.
  var tracker = { src: base + C.tracker, 'data-site': site, 'data-endpoint': base + C.endpoint };
  C.pass.forEach(function (n) {
    var v = me.getAttribute('data-' + n);
    if (v != null) tracker['data-' + n] = v;
  });
  load('script', tracker);

  // The visitor's objection to those statistics lives on THIS site, where the tracker reads it
  // (a cookie of the collector's host would never reach it). Any element with
  // data-kruimel-optout toggles it; its labels come from the site's own data-label-optout /
  // data-label-optin attributes, set as text. The cookie holds no identifier.
  var OPT = 'kruimel_optout';
  function objected() { return new RegExp('(?:^|; )' + OPT + '=1(?:;|$)').test(d.cookie); }
  function showObjection() {
    [].forEach.call(d.querySelectorAll('[data-kruimel-optout]'), function (el) {
      var label = el.getAttribute(objected() ? 'data-label-optin' : 'data-label-optout');
      if (label) el.textContent = label;
      el.setAttribute('aria-pressed', objected() ? 'true' : 'false');
    });
  }
  d.addEventListener('click', function (e) {
    var el = e.target.closest && e.target.closest('[data-kruimel-optout]');
    if (!el) return;
    e.preventDefault();
    d.cookie = OPT + (objected() ? '=; Max-Age=0' : '=1; Max-Age=34214400') + '; Path=/; SameSite=Lax' +
      (location.protocol === 'https:' ? '; Secure' : '');
    showObjection();
  });
  if (d.readyState === 'loading') d.addEventListener('DOMContentLoaded', showObjection);
  else showObjection();

  var m = d.cookie.match(new RegExp('(?:^|; )' + C.cookie + '=([^;]*)'));
  var headers = {};
  if (m) headers[C.header] = m[1];
  Promise.all([
    // The stylesheet first, so the banner never appears unstyled (no layout shift).
    load('link', { rel: 'stylesheet', href: base + prefix + '/static/banner.css' }),
    fetch(base + prefix + '/banner?lang=' + encodeURIComponent(lang), {
      headers: headers,
      credentials: 'omit'
    }).then(function (r) {
      if (!r.ok) throw new Error('kruimel: banner ' + r.status);
      return r.text();
    })
  ]).then(function (res) {
    var root = new DOMParser().parseFromString(res[1], 'text/html')
      .querySelector('.kruimel[data-kruimel-prefix]');
    if (!root) return;
    // The consent endpoints live on the collector; the privacy statement stays on this site.
    [].forEach.call(root.querySelectorAll('[href],[action],[formaction]'), function (el) {
      ['href', 'action', 'formaction'].forEach(function (a) {
        var v = el.getAttribute(a);
        if (v && v.indexOf(prefix) === 0) el.setAttribute(a, base + v);
      });
    });
    root.setAttribute('data-kruimel-remote', base);
    d.body.appendChild(d.adoptNode(root));
    return load('script', { src: base + prefix + '/static/banner.js' });
  }).catch(function (e) {
    // Without the banner nothing gated runs: failing closed is the safe default.
    console.warn(e);
  });
})(window, document);
