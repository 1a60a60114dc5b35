// volnet progressive enhancement. No dependencies, no build step, CSP-safe
// (script-src 'self': no eval, no inline handlers). Pages work without it.
(function () {
  'use strict';
  var d = document;

  // (a) <form data-confirm="..."> asks before submitting.
  // (c) POST forms: block double submits and disable their submit buttons.
  // (e) <form data-confirm-typed="..."> (the language switch) asks first when something was typed on the
  // page (or the page came back with what was typed, after a refused form).
  var typed = !!d.querySelector('.form-error, .alert-error');
  d.addEventListener('input', function (e) {
    var f = e.target.form;
    if (f && !f.hasAttribute('data-confirm-typed') && (f.getAttribute('method') || '').toLowerCase() === 'post') {
      typed = true;
    }
  });
  d.addEventListener('submit', function (e) {
    var f = e.target, msg = f.getAttribute('data-confirm');
    if (f.getAttribute('data-submitting')) { e.preventDefault(); return; }
    if (msg && !window.confirm(msg)) { e.preventDefault(); return; }
    var lose = f.getAttribute('data-confirm-typed');
    if (lose && typed && !window.confirm(lose)) { e.preventDefault(); return; }
    if ((f.getAttribute('method') || 'get').toLowerCase() !== 'post' ||
        f.hasAttribute('target') || f.hasAttribute('data-no-disable')) return;
    // Deferred: the clicked button's name=value must still be sent.
    setTimeout(function () {
      if (e.defaultPrevented) return;
      f.setAttribute('data-submitting', '1');
      each(f.querySelectorAll('button:not([type=button]):not([type=reset]),input[type=submit]'), function (b) {
        if (!b.disabled) { b.disabled = true; b.setAttribute('data-was-enabled', '1'); }
      });
      // Safety net: a download does not leave the page.
      setTimeout(function () { reset(f); }, 10000);
    }, 0);
  });

  function reset(f) {
    f.removeAttribute('data-submitting');
    each(f.querySelectorAll('[data-was-enabled]'), function (b) {
      b.disabled = false; b.removeAttribute('data-was-enabled');
    });
  }
  // Back/forward cache restores the page as it was: re-enable.
  window.addEventListener('pageshow', function () {
    each(d.querySelectorAll('form[data-submitting]'), reset);
    update();
  });

  // (b) <button data-print> prints the page.
  d.addEventListener('click', function (e) {
    var b = e.target.closest && e.target.closest('[data-print]');
    if (b) { e.preventDefault(); window.print(); }
  });

  // (d) [data-show-when="field=value"] (or "field=a|b") is shown only while the
  // radio group / select / checkbox named "field" has that value.
  function values(name) {
    var out = [];
    each(d.getElementsByName(name), function (el) {
      if (el.type === 'radio' || el.type === 'checkbox') { if (el.checked) out.push(el.value); }
      else if (el.tagName === 'SELECT') { each(el.options, function (o) { if (o.selected) out.push(o.value); }); }
      else out.push(el.value);
    });
    return out;
  }
  function update() {
    each(d.querySelectorAll('[data-show-when]'), function (el) {
      var rule = el.getAttribute('data-show-when'), i = rule.indexOf('=');
      if (i < 1) return;
      var want = rule.slice(i + 1).split('|'), have = values(rule.slice(0, i)), show = false;
      for (var k = 0; k < want.length; k++) if (have.indexOf(want[k]) !== -1) show = true;
      el.hidden = !show;
    });
  }
  d.addEventListener('change', update);
  d.addEventListener('input', update);

  function each(list, fn) { for (var i = 0; i < list.length; i++) fn(list[i]); }

  update();
})();
