// The filter form leaves empty fields out of its htmx requests, so the pushed URL
// stays short (?capability=vision, not ?search=&maker=&...). A static file rather
// than hx-on, because our Content-Security-Policy allows no eval.
document.addEventListener("htmx:configRequest", (event) => {
  const form = event.target.closest && event.target.closest("[data-drop-empty-params]");
  if (!form) return;
  for (const [name, value] of Object.entries(event.detail.parameters)) {
    if (value === "") delete event.detail.parameters[name];
  }
});
