// The waiting page: poll the challenge's state; finish when it is approved, explain when not.
const POLL_MS = 2000;

function messageFor(state) {
  const template = document.getElementById("wait-messages");
  const span = template?.content.querySelector(`[data-state="${state}"]`);
  return span ? span.textContent : "";
}

async function poll(waiting) {
  const form = document.getElementById(waiting.dataset.completeForm);
  const status = waiting.querySelector("[data-state-message]");
  try {
    const response = await fetch(waiting.dataset.pollUrl, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
      cache: "no-store",
    });
    if (response.ok) {
      const { state } = await response.json();
      if (state === "approved") {
        form.submit();
        return;
      }
      if (state !== "pending") {
        waiting.classList.add("ended");
        status.textContent = messageFor(state);
        status.hidden = false;
        form.hidden = true;
        const another = document.querySelector(".another-way");
        if (state === "fraud") {
          another?.remove(); // the sign-in was stopped: offering other ways would mislead
        } else {
          another?.setAttribute("open", "");
        }
        return;
      }
    }
  } catch (error) {
    // A dropped request is not an answer: keep waiting.
  }
  setTimeout(() => poll(waiting), POLL_MS);
}

const waiting = document.querySelector("[data-poll-url]");
if (waiting) {
  setTimeout(() => poll(waiting), POLL_MS);
}
