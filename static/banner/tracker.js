/* Kruimel tracker: docs/BROWSER.md */
(function(w,d,L,N){
var S=d.currentScript,o=function(n){return S.getAttribute('data-'+n)},on=function(n){return o(n)!=null},
K=w.kruimel=w.kruimel||{},cur,last,t0=0,H=on('hash'),site=o('site')||L.hostname,
api=o('endpoint')||new URL(S.src).origin+'/_analytics/api/event';
K.track=function(){};
if(!on('local')&&/^(localhost|127(\.\d+){3}|\[::1\])$|^$/.test(L.hostname)||!on('automation')&&N.webdriver||N.globalPrivacyControl||N.doNotTrack=='1')return;
function send(p){if(/kruimel_optout=1/.test(d.cookie))return;p.d=site;fetch(api,{method:'POST',body:JSON.stringify(p),keepalive:!0}).catch(function(){})}
function track(n,p){var e={n:n,u:L.href,r:d.referrer||null,w:w.innerWidth};if(p)e.p=p;if(H)e.h=1;send(e);return e}
function engage(){var e=t0&&Date.now()-t0;if(cur&&e)send({n:'engagement',u:cur.u,p:cur.p,e:e});t0=d.hidden?0:Date.now()}
function page(){var p=L.pathname+(H?L.hash:'');if(p==last)return;last=p;engage();cur=track('pageview')}
['pushState','replaceState'].forEach(function(m){var f=history[m];history[m]=function(){var r=f.apply(this,arguments);page();return r}});
w.addEventListener('popstate',page);
if(H)w.addEventListener('hashchange',page);
d.addEventListener('visibilitychange',function(){d.hidden?engage():t0=Date.now()});
['click','auxclick'].forEach(function(t){d.addEventListener(t,function(e){
var a=e.target.closest('a[href]'),u=a&&a.href.split(/[?#]/)[0];
if(!a)return;
if(on('outbound')&&a.host&&a.host!=L.host)track('Outbound Link: Click',{url:a.href});
else if(on('downloads')&&/\.(pdf|zip|gz|docx?|xlsx?|pptx?|csv|mp[34]|dmg|exe)$/i.test(u))track('File Download',{url:u})})});
K.track=track;
page()
})(window,document,location,navigator)
