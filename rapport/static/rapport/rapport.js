// Small behaviours, kept out of the HTML so the Content-Security-Policy can
// forbid inline script: a filter that applies as soon as it changes, a
// secret link selected in one click for copying.
document.addEventListener("change", (event) => {
  const field = event.target.closest("[data-autosubmit]");
  if (field && field.form) field.form.requestSubmit();
});
document.addEventListener("click", (event) => {
  const field = event.target.closest("[data-select-on-focus]");
  if (field) field.select();
});
