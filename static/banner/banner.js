/* Kruimel banner: enhances the server-rendered markup (consent/banner.py). Posts the choice
   with fetch, fetches the settings layer when opened, re-creates allowed gated scripts in
   order, fires `kruimel:consent`, exposes window.kruimel.consent / .open(). No eval, no
   innerHTML, no style attributes: fits a strict Content-Security-Policy. */
(function (w, d) {
  'use strict';
  // One place for every name the markup, the server and site code share.
  var C = {
    root: '.kruimel[data-kruimel-prefix]',
    gated: 'script[type="text/plain"][data-consent],iframe[data-consent][data-src]',
    active: '[data-consent-active]',
    boxes: 'input[name=categories]',
    first: '.kruimel-first',
    settings: '.kruimel-settings',
    manage: '.kruimel-manage-form',
    status: '.kruimel-status',
    event: 'kruimel:consent',
    header: 'X-Kruimel-Consent',
    cookie: 'kruimel_consent',
    control: 'banner',
    gtag: {
      analytics: ['analytics_storage'],
      marketing: ['ad_storage', 'ad_user_data', 'ad_personalization'],
      preferences: ['functionality_storage', 'personalization_storage']
    }
  };
  var root = d.querySelector(C.root);
  if (!root || root.kruimel) return;
  root.kruimel = 1;
  var me = d.currentScript;
  var nonce = (me && me.nonce) || (d.querySelector('script[nonce]') || {}).nonce || '';
  // Static sites (kruimel.js): the signed choice lives in a first-party cookie, sent as a header.
  var remote = root.getAttribute('data-kruimel-remote') || '';
  var endpoint = remote + root.getAttribute('data-kruimel-prefix');
  var $ = function (sel) { return root.querySelector(sel); };
  var all = function (sel, el) { return [].slice.call((el || root).querySelectorAll(sel)); };
  var first = $(C.first), settings = $(C.settings), manage = $(C.manage), status = $(C.status);
  var opener = null, ran = {}, busy = false, loading, opening = 0;
  var k = w.kruimel = w.kruimel || {};

  function readState() {
    return {
      decided: root.getAttribute('data-decided') === 'true',
      categories: JSON.parse(root.getAttribute('data-categories') || '{}'),
      gpc: root.getAttribute('data-gpc') === 'true'
    };
  }

  function tokenHeaders() {
    var headers = {}, token = remote && cookie();
    if (token) headers[C.header] = token;
    return headers;
  }

  // Boxes as the state says (the layer may have left before a choice).
  function tick() {
    all(C.boxes).forEach(function (b) { if (!b.disabled) b.checked = !!state.categories[b.value]; });
  }

  // The settings layer is fetched when first opened; `next` only serves the form fallback.
  function layer() {
    return settings ? Promise.resolve() : loading || (loading = fetch(endpoint +
      '/banner?part=settings&lang=' + root.lang +
      (remote ? '' : '&next=' + encodeURIComponent(location.pathname + location.search)), {
      headers: tokenHeaders(),
      credentials: remote ? 'omit' : 'same-origin'
    }).then(function (r) {
      if (!r.ok) throw r;
      return r.text();
    }).then(function (html) {
      var el = new DOMParser().parseFromString(html, 'text/html').querySelector(C.settings);
      root.insertBefore(d.adoptNode(el), manage);
      settings = el;
      tick();
    }).catch(function (e) {
      loading = null;  // try again next time
      throw e;
    }));
  }

  function allows(state, el) {
    return state.decided && el.getAttribute('data-consent').split(/\s+/).every(function (c) {
      return state.categories[c];
    });
  }

  function mark(el) {
    el.getAttribute('data-consent').split(/\s+/).forEach(function (c) { ran[c] = 1; });
  }

  // Re-create (not mutate) each allowed inert script so it runs; external ones in turn.
  function activate(state) {
    var chain = Promise.resolve();
    all(C.gated, d).forEach(function (old) {
      if (!allows(state, old)) return;
      mark(old);
      if (old.tagName === 'IFRAME') {
        old.setAttribute('src', old.getAttribute('data-src'));
        old.removeAttribute('data-src');
        old.setAttribute('data-consent-active', '');
        return;
      }
      chain = chain.then(function () {
        return new Promise(function (done) {
          var s = d.createElement('script');
          [].forEach.call(old.attributes, function (a) {
            if (a.name !== 'type' && a.name !== 'data-type') s.setAttribute(a.name, a.value);
          });
          var type = old.getAttribute('data-type');
          if (type) s.type = type;
          if (nonce) s.nonce = nonce;
          s.setAttribute('data-consent-active', '');
          if (old.src) {
            s.onload = s.onerror = done;
          } else {
            s.text = old.text;
          }
          old.parentNode.replaceChild(s, old);
          if (!old.src) done();
        });
      });
    });
    return chain;
  }

  function gtag(state) {
    if (typeof w.gtag !== 'function') return;
    var upd = {};
    Object.keys(C.gtag).forEach(function (c) {
      C.gtag[c].forEach(function (t) { upd[t] = state.categories[c] ? 'granted' : 'denied'; });
    });
    w.gtag('consent', 'update', upd);
  }

  function cookie() {
    var m = d.cookie.match(new RegExp('(?:^|; )' + C.cookie + '=([^;]*)'));
    return m ? m[1] : '';
  }

  // Cookies a withdrawn category's scripts set in the browser (names from the declaration).
  function wipe(cat) {
    var box = root.querySelector('#kruimel-cat-' + cat);
    var names = box ? all('code', box.parentNode).map(function (c) { return c.textContent; }) : [];
    d.cookie.split('; ').forEach(function (pair) {
      var name = pair.split('=')[0];
      var hit = names.some(function (n) {
        return new RegExp('^' + n.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*') + '$').test(name);
      });
      if (!hit) return;
      var host = location.hostname.split('.');
      while (host.length > 1) {
        d.cookie = name + '=; Max-Age=0; Path=/; Domain=' + host.join('.');
        host.shift();
      }
      d.cookie = name + '=; Max-Age=0; Path=/';
    });
  }

  function show(layer) {
    first && (first.hidden = layer !== first);
    settings && (settings.hidden = layer !== settings);
    manage.hidden = layer || !state.decided ? true : false;
    if (layer) {
      var h = layer.querySelector('.kruimel-title');
      h && h.focus({ preventScroll: true });
    }
  }

  function open() {
    var ticket = ++opening;
    opener = d.activeElement;
    return layer().then(function () {
      // Not if a choice or a close came meanwhile.
      ticket === opening && show(settings);
    }, function () {
      // The settings page, as without JavaScript.
      remote || ticket !== opening || manage.submit();
    });
  }

  function close() {
    opening++;
    if (!settings || settings.hidden) return;
    show(state.decided ? null : first);
    var back = state.decided ? manage.querySelector('button') : opener;
    back && back.focus && back.focus();
  }

  function apply(next) {
    var before = state;
    state = next;
    k.consent = state;
    opening++;
    tick();
    root.setAttribute('data-decided', 'true');
    gtag(state);
    var withdrawn = Object.keys(before.categories).filter(function (c) {
      return before.categories[c] && !state.categories[c];
    });
    withdrawn.forEach(wipe);
    if (withdrawn.some(function (c) { return ran[c]; })) {
      // A script that ran cannot be unloaded: reload (the server expired its cookies).
      location.reload();
      return;
    }
    show(null);
    manage.querySelector('button').focus();
    status.textContent = status.getAttribute('data-kruimel-saved');
    setTimeout(function () { status.textContent = ''; }, 4000);
    activate(state).then(function () {
      d.dispatchEvent(new CustomEvent(C.event, { detail: state }));
    });
  }

  function post(body, form, submitter) {
    if (busy) return;  // a double click records one choice
    busy = true;
    body.control = C.control;
    var headers = tokenHeaders();
    headers['Content-Type'] = 'application/json';
    return fetch(endpoint, {
      method: 'POST',
      headers: headers,
      body: JSON.stringify(body),
      credentials: remote ? 'omit' : 'same-origin'
    }).then(function (r) {
      if (!r.ok) throw r;
      return r.json();
    }).then(function (s) {
      if (remote && s.token) {
        var age = Math.max(0, Math.round((Date.parse(s.expires_at) - Date.now()) / 1000));
        d.cookie = C.cookie + '=' + s.token + '; Path=/; SameSite=Lax; Max-Age=' + age +
          (location.protocol === 'https:' ? '; Secure' : '');
      }
      busy = false;
      apply(s);
    }, function () {
      busy = false;
      // Same origin: the plain form post, as without JavaScript.
      if (remote) return;
      var f = d.createElement('input');
      f.type = 'hidden';
      f.name = submitter.name;
      f.value = submitter.value;
      form.appendChild(f);
      form.submit();
    });
  }

  root.addEventListener('submit', function (e) {
    var form = e.target, btn = e.submitter || {};
    e.preventDefault();
    if (form === manage || btn.hasAttribute && btn.hasAttribute('data-kruimel-open')) return open();
    var body;
    if (btn.value === 'custom') {
      body = { categories: {} };
      all(C.boxes, form).forEach(function (b) { if (!b.disabled) body.categories[b.value] = b.checked; });
    } else {
      body = { accept: btn.value === 'all' ? 'all' : 'none' };
    }
    post(body, form, btn);
  });
  root.addEventListener('click', function (e) {
    if (e.target.closest('[data-kruimel-close]')) close();
  });
  root.addEventListener('keydown', function (e) {
    if (e.key === 'Escape') close();
  });

  var state = readState();
  all(C.active, d).forEach(mark);
  k.consent = state;
  k.open = open;
  if (state.decided) {
    gtag(state);
    activate(state);
  } else if (first) {
    first.querySelector('.kruimel-title').focus({ preventScroll: true });
  }
})(window, document);
