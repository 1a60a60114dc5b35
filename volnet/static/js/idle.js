// Warns before the idle timeout (volnet.accounts.sessions), so a note being typed is not lost unnoticed.
// No dependencies, no build step, CSP-safe. The page works without it: the server signs out all the same.
(function () {
  'use strict';
  var box = document.getElementById('idle-notice');
  if (!box || !window.fetch) return;
  var total = parseInt(box.getAttribute('data-idle-seconds'), 10) || 0;
  if (total <= 0) return;
  var url = box.getAttribute('data-status-url');
  var lead = Math.min(120, Math.floor(total / 2));  // warn 2 minutes before (half the time if shorter)
  var timer = null;

  function schedule(left) {
    clearTimeout(timer);
    timer = setTimeout(check, Math.max(left - lead, 5) * 1000);
  }

  function show(text, withButton) {
    box.textContent = '';
    var p = document.createElement('p');
    p.textContent = text;
    box.appendChild(p);
    if (withButton) {
      var b = document.createElement('button');
      b.type = 'button';
      b.className = 'btn btn-secondary btn-small';
      b.textContent = box.getAttribute('data-stay');
      b.addEventListener('click', function () { ask(true); });
      box.appendChild(b);
    }
    box.hidden = false;
  }

  function ended() {
    clearTimeout(timer);
    show(box.getAttribute('data-ended'), false);
  }

  // The status page does not count as activity; with stay=1 it does (the button).
  function ask(stay) {
    fetch(url + (stay ? '?stay=1' : ''), {credentials: 'same-origin', redirect: 'manual',
                                          headers: {'Accept': 'application/json'}})
      .then(function (r) {
        if (r.type === 'opaqueredirect' || r.status === 401 || r.status === 403) throw new Error('signed out');
        if (!r.ok) throw new Error('unavailable');
        return r.json();
      })
      .then(function (data) {
        var left = data.left | 0;
        if (left <= 0) { ended(); return; }
        if (left > lead + 5) { box.hidden = true; schedule(left); return; }
        var minutes = Math.max(1, Math.round(left / 60));
        show(box.getAttribute('data-warn').replace('{n}', String(minutes)), true);
        clearTimeout(timer);
        timer = setTimeout(function () { ask(false); }, left * 1000 + 1000);
      })
      .catch(function (err) {
        // Signed out: say so. The network or the server away for a moment: ask again shortly.
        if (err && err.message === 'signed out') { ended(); return; }
        clearTimeout(timer);
        timer = setTimeout(function () { ask(stay); }, 30000);
      });
  }

  function check() { ask(false); }

  schedule(total);
})();
