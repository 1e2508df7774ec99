/* Google Consent Mode v2 defaults for pages whose Content-Security-Policy allows no inline
   script (consent/consent_mode.py writes the inline form otherwise). Loaded synchronously
   right after <head>, before any Google tag. Settings come from data-* attributes:
   data-types: the consent types, all defaulted to 'denied';
   data-granted: the types the visitor's current choice grants (sent as an 'update');
   data-wait: wait_for_update in milliseconds. No eval, no globals beyond dataLayer/gtag. */
(function (w, d) {
  'use strict';
  var me = d.currentScript;
  if (!me) return;
  var list = function (name) {
    return (me.getAttribute(name) || '').split(' ').filter(Boolean);
  };
  w.dataLayer = w.dataLayer || [];
  // gtag.js reads the arguments object itself, exactly as Google's own snippet pushes it.
  w.gtag = w.gtag || function () { w.dataLayer.push(arguments); };
  var defaults = { wait_for_update: parseInt(me.getAttribute('data-wait'), 10) || 500 };
  var update = {};
  list('data-types').forEach(function (t) { defaults[t] = 'denied'; update[t] = 'denied'; });
  list('data-granted').forEach(function (t) { update[t] = 'granted'; });
  w.gtag('consent', 'default', defaults);
  w.gtag('consent', 'update', update);
})(window, document);
