// The add-key form lists every provider's extra key fields (an Azure endpoint, a Bedrock region, ...); show only
// the chosen provider's. Without this script they all stay visible, each group saying which provider it is for.
(function () {
  "use strict";

  function sync(form) {
    var select = form.querySelector("select[name='provider']");
    if (!select) return;
    form.querySelectorAll("[data-key-fields-for]").forEach(function (group) {
      var shown = group.getAttribute("data-key-fields-for") === select.value;
      group.hidden = !shown;
      group.disabled = !shown;
    });
  }

  function init(root) {
    root.querySelectorAll("form").forEach(function (form) {
      if (form.querySelector("[data-key-fields-for]")) sync(form);
    });
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target && target.name === "provider" && target.form) sync(target.form);
  });
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  // The form is swapped in again after each save (htmx).
  document.addEventListener("htmx:afterSwap", function (event) { init(event.target); });
})();
