// The page that shows new recovery codes: its Print button (hidden without JavaScript,
// where the browser's own Print command does the same, through the print stylesheet).
const button = document.querySelector("[data-print]");
if (button) {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}
