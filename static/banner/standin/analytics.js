/* Stand-in for a consent-requiring analytics tag (Hotjar-like): sets its cookie and records that
   it ran, so the demo and the tests can see analytics scripts run only after consent. */
(function (w, d) {
  'use strict';
  var ran = w.kruimelStandins = w.kruimelStandins || {};
  ran.analytics = (ran.analytics || 0) + 1;
  d.cookie = '_hjSessionUser_1=' + Math.random().toString(36).slice(2) + '; Path=/; Max-Age=31536000; SameSite=Lax';
  d.documentElement.setAttribute('data-standin-analytics', String(ran.analytics));
})(window, document);
