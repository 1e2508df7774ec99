/* The Kruimel tracker: counts page views, SPA navigations, engagement time, outbound links
   and downloads without cookies or identifiers (docs/BROWSER.md). Built into
   static/banner/tracker.js by `make assets` (budget: under 1,000 B gzip -9). */
import { event_path as EVENT_PATH, optout_cookie as OPTOUT } from '../../../kruimel/base/shared.json';

// Pages on these hosts are not counted unless the tag says data-local.
const LOCAL_HOST = /^(localhost|127(\.\d+){3}|\[::1\])$|^$/;
const DOWNLOAD = /\.(pdf|zip|gz|docx?|xlsx?|pptx?|csv|mp[34]|dmg|exe)$/i;
const OBJECTED = new RegExp('(?:^|; )' + OPTOUT + '=1(?:;|$)');

function start(script) {
  const attr = (name) => script.getAttribute('data-' + name);
  const has = (name) => attr(name) != null;
  const kruimel = (window.kruimel = window.kruimel || {});
  kruimel.track = () => {};
  if (
    (!has('local') && LOCAL_HOST.test(location.hostname)) ||
    (!has('automation') && navigator.webdriver) ||
    navigator.globalPrivacyControl ||
    navigator.doNotTrack === '1'
  ) {
    return;
  }
  const hashRouting = has('hash');
  const site = attr('site') || location.hostname;
  const endpoint = attr('endpoint') || new URL(script.src).origin + EVENT_PATH;
  let current; // the page view being watched, for its engagement event
  let lastPath;
  let visibleSince = 0;

  function send(event) {
    // The objection is a cookie of this site (set by {prefix}/optout or kruimel.js) and is
    // read here: the collector receives no cookies to read it from.
    if (OBJECTED.test(document.cookie)) return;
    event.d = site;
    // No credentials: the collector needs none of the site's cookies (consent id, third
    // parties' ids), so none leave the browser with an event.
    fetch(endpoint, {
      method: 'POST',
      body: JSON.stringify(event),
      keepalive: true,
      credentials: 'omit'
    }).catch(() => {});
  }

  function track(name, props) {
    const event = { n: name, u: location.href, r: document.referrer || null, w: window.innerWidth };
    if (props) event.p = props;
    if (hashRouting) event.h = 1;
    send(event);
    return event;
  }

  // The time the page was visible since it was shown, reported when it is left or hidden.
  function engage() {
    const elapsed = visibleSince && Date.now() - visibleSince;
    if (current && elapsed) send({ n: 'engagement', u: current.u, p: current.p, e: elapsed });
    visibleSince = document.hidden ? 0 : Date.now();
  }

  function page() {
    const path = location.pathname + (hashRouting ? location.hash : '');
    if (path === lastPath) return;
    lastPath = path;
    engage();
    current = track('pageview');
  }

  ['pushState', 'replaceState'].forEach((method) => {
    const original = history[method];
    history[method] = function () {
      const result = original.apply(this, arguments);
      page();
      return result;
    };
  });
  addEventListener('popstate', page);
  if (hashRouting) addEventListener('hashchange', page);
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) engage();
    else visibleSince = Date.now();
  });
  ['click', 'auxclick'].forEach((type) => {
    document.addEventListener(type, (e) => {
      const link = e.target.closest('a[href]');
      if (!link) return;
      const url = link.href.split(/[?#]/)[0];
      if (has('outbound') && link.host && link.host !== location.host) {
        track('Outbound Link: Click', { url: link.href });
      } else if (has('downloads') && DOWNLOAD.test(url)) {
        track('File Download', { url });
      }
    });
  });
  kruimel.track = track;
  page();
}

start(document.currentScript);
