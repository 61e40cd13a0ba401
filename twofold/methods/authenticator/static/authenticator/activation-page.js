// The activation page on the computer: when the phone has used the link, go back to the
// settings page, where the new app is listed (or, at registration, finish registering).
const panel = document.querySelector("[data-activation-status]");

async function check() {
  try {
    const response = await fetch(panel.dataset.activationStatus, { credentials: "same-origin", cache: "no-store" });
    if (response.ok && (await response.json()).activated) {
      panel.querySelector("[data-activation-message]").hidden = false;
      const complete = panel.dataset.completeForm && document.getElementById(panel.dataset.completeForm);
      if (complete) complete.submit();
      else window.location.assign(panel.dataset.doneUrl);
      return;
    }
  } catch (error) {
    // A dropped request: ask again.
  }
  setTimeout(check, 2000);
}

if (panel) setTimeout(check, 2000);
