// The filter form leaves out of its htmx requests what changes nothing: empty fields, and a field
// still at its default (a control with data-default="name" sends nothing while it says "name").
// The pushed URL then holds only what the user chose (?capability=vision, not
// ?search=&maker=&ordering=name&...), a clean one to share. A static file rather than hx-on,
// because our Content-Security-Policy allows no eval.
document.addEventListener("htmx:configRequest", (event) => {
  const form = event.target.closest && event.target.closest("[data-drop-empty-params]");
  if (!form) return;
  const defaults = {};
  for (const control of form.querySelectorAll("[name][data-default]")) {
    defaults[control.name] = control.dataset.default;
  }
  for (const [name, value] of Object.entries(event.detail.parameters)) {
    if (value === "" || (name in defaults && value === defaults[name])) delete event.detail.parameters[name];
  }
});
