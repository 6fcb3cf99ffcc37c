/* global document, fetch, window, setTimeout -- a browser script */
// Polls a running sync's figures and shows them; reloads the page when the run is no longer running,
// so that it becomes the preview (or the result). Without JavaScript the page refreshes itself instead.
(function () {
  'use strict';
  var box = document.querySelector('[data-progress-url]');
  if (!box) return;
  var url = box.getAttribute('data-progress-url');
  var POLL_MS = 1000;

  function set(field, text) {
    var el = box.querySelector('[data-field="' + field + '"]');
    if (el) el.textContent = text;
  }
  function show(p) {
    box.setAttribute('data-phase', p.phase);
    set('phase-label', p.phaseLabel);
    // The figures come formatted in the page's language ("1.250 dari 3.000").
    set('pages-fetched', p.text.pagesFetched);
    set('pages-total', p.text.pagesTotal);
    set('users-fetched', p.text.usersFetched);
    set('users-total', p.text.usersTotal);
    set('elapsed', p.text.elapsed);
    var steps = box.querySelectorAll('[data-step]');
    var current = -1;
    steps.forEach(function (li, i) {
      if (li.getAttribute('data-step') === p.phase) current = i;
    });
    steps.forEach(function (li, i) {
      li.className = i < current ? 'done' : i === current ? 'current' : '';
      if (i === current) li.setAttribute('aria-current', 'step');
      else li.removeAttribute('aria-current');
    });
  }

  function poll() {
    fetch(url, { headers: { Accept: 'application/json' }, credentials: 'same-origin' })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (p) {
        show(p);
        if (!p.running) window.location.reload();
        else setTimeout(poll, POLL_MS);
      })
      .catch(function () {
        setTimeout(poll, POLL_MS * 2);
      });
  }
  setTimeout(poll, POLL_MS);
})();
