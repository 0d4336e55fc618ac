// After htmx swaps in another wizard step, focus moves to its heading, so keyboard
// and screen-reader users start reading where the new step begins rather than on a
// button that is gone. A static file rather than hx-on: our CSP allows no eval.
document.addEventListener("htmx:afterSettle", (event) => {
  const wizard = event.detail.target;
  if (!wizard || !wizard.matches || !wizard.matches("[data-focus-step-heading]")) return;
  const heading = wizard.querySelector("#step-heading");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  }
});
