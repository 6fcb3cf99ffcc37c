/* global document */
// After a refused form, move focus to its error summary so keyboard and screen-reader users land on
// what to fix. The page works without this: the summary is the first thing in the form.
document.addEventListener('DOMContentLoaded', () => {
  const summary = document.querySelector('[data-error-summary]');
  if (summary) summary.focus();
});
