/* Kruimel banner: enhances the server-rendered markup (consent/banner.py). Posts the choice
   with fetch, fetches the settings layer when opened, re-creates allowed gated scripts in
   order, fires `kruimel:consent`, exposes window.kruimel.consent / .open(). No eval, no
   innerHTML, no style attributes: fits a strict Content-Security-Policy. Built into
   static/banner/banner.js by `make assets` (budget: with banner.css under 5,000 B gzip -9). */
import {
  consent_cookie as COOKIE,
  consent_event as EVENT,
  gtag_types as GTAG_TYPES,
  token_header as TOKEN_HEADER
} from '../../../kruimel/base/shared.json';

// The names the markup (consent/banner.py) and site code share with this script.
const ROOT = '.kruimel[data-kruimel-prefix]';
const GATED = 'script[type="text/plain"][data-consent],iframe[data-consent][data-src]';
const ACTIVE = '[data-consent-active]';
const BOXES = 'input[name=categories]';
const CONTROL = 'banner'; // how the consent log records a choice made here

function start(w, d, root) {
  if (!root || root.kruimel) return;
  root.kruimel = 1;
  const me = d.currentScript;
  const nonce = (me && me.nonce) || (d.querySelector('script[nonce]') || {}).nonce || '';
  // Static sites (kruimel.js): the signed choice lives in a first-party cookie, sent as a header.
  const remote = root.getAttribute('data-kruimel-remote') || '';
  const endpoint = remote + root.getAttribute('data-kruimel-prefix');
  const credentials = remote ? 'omit' : 'same-origin';
  const $ = (sel) => root.querySelector(sel);
  const all = (sel, el) => [].slice.call((el || root).querySelectorAll(sel));
  const first = $('.kruimel-first');
  const manage = $('.kruimel-manage-form');
  const status = $('.kruimel-status');
  let settings = $('.kruimel-settings');
  let opener = null;
  let busy = false;
  let loading;
  let opening = 0; // bumped by every choice and close: a late settings layer stays closed
  const ran = {}; // categories whose scripts already ran
  const k = (w.kruimel = w.kruimel || {});
  let state = {
    decided: root.getAttribute('data-decided') === 'true',
    categories: JSON.parse(root.getAttribute('data-categories') || '{}'),
    gpc: root.getAttribute('data-gpc') === 'true'
  };

  function cookie() {
    const m = d.cookie.match(new RegExp('(?:^|; )' + COOKIE + '=([^;]*)'));
    return m ? m[1] : '';
  }

  function tokenHeaders() {
    const headers = {};
    const token = remote && cookie();
    if (token) headers[TOKEN_HEADER] = token;
    return headers;
  }

  // Boxes as the state says (the layer may have left before a choice).
  function tick() {
    all(BOXES).forEach((b) => {
      if (!b.disabled) b.checked = !!state.categories[b.value];
    });
  }

  // The settings layer is fetched when first opened; `next` only serves the form fallback.
  function layer() {
    if (settings) return Promise.resolve();
    return loading || (loading = fetch(endpoint + '/banner?part=settings&lang=' + root.lang +
      (remote ? '' : '&next=' + encodeURIComponent(location.pathname + location.search)), {
      headers: tokenHeaders(),
      credentials
    }).then((r) => {
      if (!r.ok) throw r;
      return r.text();
    }).then((html) => {
      const el = new DOMParser().parseFromString(html, 'text/html').querySelector('.kruimel-settings');
      root.insertBefore(d.adoptNode(el), manage);
      settings = el;
      tick();
    }).catch((e) => {
      loading = null; // try again next time
      throw e;
    }));
  }

  const categoriesOf = (el) => el.getAttribute('data-consent').split(/\s+/);
  const allows = (el) => state.decided && categoriesOf(el).every((c) => state.categories[c]);
  const mark = (el) => categoriesOf(el).forEach((c) => { ran[c] = 1; });

  // Re-create (not mutate) each allowed inert script so it runs; external ones in turn.
  function activate() {
    let chain = Promise.resolve();
    all(GATED, d).forEach((old) => {
      if (!allows(old)) return;
      mark(old);
      if (old.tagName === 'IFRAME') {
        old.setAttribute('src', old.getAttribute('data-src'));
        old.removeAttribute('data-src');
        old.setAttribute('data-consent-active', '');
        return;
      }
      chain = chain.then(() => new Promise((done) => {
        const s = d.createElement('script');
        [].forEach.call(old.attributes, (a) => {
          if (a.name !== 'type' && a.name !== 'data-type') s.setAttribute(a.name, a.value);
        });
        const type = old.getAttribute('data-type');
        if (type) s.type = type;
        if (nonce) s.nonce = nonce;
        s.setAttribute('data-consent-active', '');
        if (old.src) s.onload = s.onerror = done;
        else s.text = old.text;
        old.parentNode.replaceChild(s, old);
        if (!old.src) done();
      }));
    });
    return chain;
  }

  // Google Consent Mode: the same table as consent/consent_mode.py (kruimel/base/shared.json).
  function gtag() {
    if (typeof w.gtag !== 'function') return;
    const update = {};
    Object.keys(GTAG_TYPES).forEach((c) => {
      GTAG_TYPES[c].forEach((t) => { update[t] = state.categories[c] ? 'granted' : 'denied'; });
    });
    w.gtag('consent', 'update', update);
  }

  // Cookies a withdrawn category's scripts set in the browser (names from the declaration).
  function wipe(category) {
    const box = root.querySelector('#kruimel-cat-' + category);
    const names = box ? all('code', box.parentNode).map((c) => c.textContent) : [];
    d.cookie.split('; ').forEach((pair) => {
      const name = pair.split('=')[0];
      const hit = names.some((n) => new RegExp('^' +
        n.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*') + '$').test(name));
      if (!hit) return;
      const host = location.hostname.split('.');
      while (host.length > 1) {
        d.cookie = name + '=; Max-Age=0; Path=/; Domain=' + host.join('.');
        host.shift();
      }
      d.cookie = name + '=; Max-Age=0; Path=/';
    });
  }

  function show(shown) {
    if (first) first.hidden = shown !== first;
    if (settings) settings.hidden = shown !== settings;
    manage.hidden = !!shown || !state.decided;
    if (shown) {
      const title = shown.querySelector('.kruimel-title');
      if (title) title.focus({ preventScroll: true });
    }
  }

  function open() {
    const ticket = ++opening;
    opener = d.activeElement;
    return layer().then(() => {
      // Not if a choice or a close came meanwhile.
      if (ticket === opening) show(settings);
    }, () => {
      // The settings page, as without JavaScript.
      if (!remote && ticket === opening) manage.submit();
    });
  }

  function close() {
    opening++;
    if (!settings || settings.hidden) return;
    show(state.decided ? null : first);
    const back = state.decided ? manage.querySelector('button') : opener;
    if (back && back.focus) back.focus();
  }

  function apply(next) {
    const before = state;
    state = k.consent = next;
    opening++;
    tick();
    root.setAttribute('data-decided', 'true');
    gtag();
    const withdrawn = Object.keys(before.categories)
      .filter((c) => before.categories[c] && !state.categories[c]);
    withdrawn.forEach(wipe);
    if (withdrawn.some((c) => ran[c])) {
      // A script that ran cannot be unloaded: reload (the server expired its cookies).
      location.reload();
      return;
    }
    show(null);
    manage.querySelector('button').focus();
    status.textContent = status.getAttribute('data-kruimel-saved');
    setTimeout(() => { status.textContent = ''; }, 4000);
    activate().then(() => {
      d.dispatchEvent(new CustomEvent(EVENT, { detail: state }));
    });
  }

  function post(body, form, submitter) {
    if (busy) return; // a double click records one choice
    busy = true;
    body.control = CONTROL;
    const headers = tokenHeaders();
    headers['Content-Type'] = 'application/json';
    fetch(endpoint, { method: 'POST', headers, body: JSON.stringify(body), credentials })
      .then((r) => {
        if (!r.ok) throw r;
        return r.json();
      })
      .then((answer) => {
        if (remote && answer.token) {
          const age = Math.max(0, Math.round((Date.parse(answer.expires_at) - Date.now()) / 1000));
          d.cookie = COOKIE + '=' + answer.token + '; Path=/; SameSite=Lax; Max-Age=' + age +
            (location.protocol === 'https:' ? '; Secure' : '');
        }
        busy = false;
        apply(answer);
      }, () => {
        busy = false;
        // Same origin: the plain form post, as without JavaScript.
        if (remote) return;
        const field = d.createElement('input');
        field.type = 'hidden';
        field.name = submitter.name;
        field.value = submitter.value;
        form.appendChild(field);
        form.submit();
      });
  }

  root.addEventListener('submit', (e) => {
    const form = e.target;
    const button = e.submitter || {};
    e.preventDefault();
    if (form === manage || (button.hasAttribute && button.hasAttribute('data-kruimel-open'))) {
      open();
      return;
    }
    let body;
    if (button.value === 'custom') {
      body = { categories: {} };
      all(BOXES, form).forEach((b) => {
        if (!b.disabled) body.categories[b.value] = b.checked;
      });
    } else {
      body = { accept: button.value === 'all' ? 'all' : 'none' };
    }
    post(body, form, button);
  });
  root.addEventListener('click', (e) => {
    if (e.target.closest('[data-kruimel-close]')) close();
  });
  root.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') close();
  });

  all(ACTIVE, d).forEach(mark);
  k.consent = state;
  k.open = open;
  if (state.decided) {
    gtag();
    activate();
  } else if (first) {
    first.querySelector('.kruimel-title').focus({ preventScroll: true });
  }
}

start(window, document, document.querySelector(ROOT));
