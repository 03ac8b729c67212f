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
// The time-zone filter: shown only when this script runs (the select works
// alone without it); typing hides the options and groups that do not match,
// and picks the first that does.
document.querySelectorAll("[data-filter-select]").forEach((input) => {
  const select = document.getElementById(input.dataset.filterSelect);
  if (!select) return;
  input.hidden = false;
  input.addEventListener("input", () => {
    const words = input.value.toLowerCase().replace(/_/g, " ").split(/\s+/).filter(Boolean);
    let first = null;
    select.querySelectorAll("optgroup").forEach((group) => {
      let shown = 0;
      group.querySelectorAll("option").forEach((option) => {
        const text = `${group.label} ${option.value} ${option.text}`.toLowerCase().replace(/_/g, " ");
        const match = words.every((word) => text.includes(word));
        option.hidden = !match;
        if (match) {
          shown += 1;
          first = first || option;
        }
      });
      group.hidden = shown === 0;
    });
    if (first && words.length) first.selected = true;
  });
});
