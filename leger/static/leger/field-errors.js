// Inline validation swaps in each field's error list (<ul id="errors-NAME">); the field itself is not
// re-rendered, so mark it invalid here, for screen readers, when its list holds an error, and clear
// the mark when the list empties. A static file rather than hx-on: our Content-Security-Policy
// allows no eval.
document.addEventListener("htmx:load", (event) => {
  const list = event.target;
  if (!(list instanceof HTMLElement) || !list.id || !list.id.startsWith("errors-")) return;
  for (const field of document.querySelectorAll(`[aria-describedby~="${CSS.escape(list.id)}"]`)) {
    if (list.querySelector("li")) field.setAttribute("aria-invalid", "true");
    else field.removeAttribute("aria-invalid");
  }
});
