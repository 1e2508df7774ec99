/* Stand-in for Salesforce Pardot's pd.js (demo and tests; no network needed). Like the real tag
   it sets its marketing cookies; it also records that it ran, so tests can count executions. */
(function (w, d) {
  'use strict';
  var ran = w.kruimelStandins = w.kruimelStandins || {};
  ran.pardot = (ran.pardot || 0) + 1;
  d.cookie = 'visitor_id123456=' + Math.random().toString(36).slice(2) + '; Path=/; Max-Age=31536000; SameSite=Lax';
  d.cookie = 'lpv123456=1; Path=/; Max-Age=1800; SameSite=Lax';
  d.documentElement.setAttribute('data-standin-pardot', String(ran.pardot));
})(window, document);
