/* Google Consent Mode v2 defaults for pages whose Content-Security-Policy allows no inline
   script (consent/consent_mode.py writes the inline form otherwise). Loaded synchronously
   right after <head>, before any Google tag. Settings come from data-* attributes:
   data-types: the consent types, all defaulted to 'denied';
   data-granted: the types the visitor's current choice grants (sent as an 'update');
   data-wait: wait_for_update in milliseconds. No eval, no globals beyond dataLayer/gtag.
   Built into static/banner/consent-mode.js by `make assets`. */
import { gtag_wait_ms as WAIT_MS } from '../../../kruimel/base/shared.json';

function start(w, me) {
  if (!me) return;
  const list = (name) => (me.getAttribute(name) || '').split(' ').filter(Boolean);
  w.dataLayer = w.dataLayer || [];
  // gtag.js reads the arguments object itself, exactly as Google's own snippet pushes it.
  w.gtag = w.gtag || function () { w.dataLayer.push(arguments); };
  const defaults = { wait_for_update: parseInt(me.getAttribute('data-wait'), 10) || WAIT_MS };
  const update = {};
  list('data-types').forEach((t) => {
    defaults[t] = 'denied';
    update[t] = 'denied';
  });
  list('data-granted').forEach((t) => { update[t] = 'granted'; });
  w.gtag('consent', 'default', defaults);
  w.gtag('consent', 'update', update);
}

start(window, document.currentScript);
