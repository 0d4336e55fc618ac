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

// Copy buttons next to the install commands. Without this script the buttons stay hidden (the CSS shows them
// only under .releases-js) and the commands are still there to select by hand. The clipboard API needs a secure
// context (HTTPS or loopback); elsewhere the command is selected so Ctrl+C copies it.
document.documentElement.classList.add("releases-js");

document.addEventListener("click", (event) => {
  const button = event.target.closest ? event.target.closest("[data-copy]") : null;
  if (!button) return;
  const code = document.getElementById(button.dataset.copy);
  if (!code) return;
  const status = document.getElementById("copy-status");
  const say = (text) => {
    if (status) status.textContent = text;
    button.dataset.copied = "true";
    window.setTimeout(() => { delete button.dataset.copied; }, 2000);
  };
  const select = () => {
    const range = document.createRange();
    range.selectNodeContents(code);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    say("Selected the command: press Ctrl+C (or ⌘C) to copy it.");
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(code.textContent).then(() => say("Copied the command."), select);
  } else {
    select();
  }
});

// When the model list is drawn again (a search, or after a tick was saved), the focused checkbox or picker is a
// new element with the same id: give it the focus back, so a keyboard user goes on from where they were.
let releasesFocusedId = null;
document.addEventListener("htmx:beforeSwap", (event) => {
  const target = event.detail.target;
  const active = document.activeElement;
  releasesFocusedId = target && target.id === "model-choices" && active && active.id && target.contains(active) ? active.id : null;
});
document.addEventListener("htmx:afterSettle", () => {
  if (!releasesFocusedId) return;
  const again = document.getElementById(releasesFocusedId);
  releasesFocusedId = null;
  if (again && again !== document.activeElement) again.focus({ preventScroll: true });
});
