// The waiting page: poll the challenge's state; finish when it is approved, explain when not.
const POLL_MS = 2000;

function messageFor(state) {
  const template = document.getElementById("wait-messages");
  const span = template?.content.querySelector(`[data-state="${state}"]`);
  return span ? span.textContent : "";
}

// What the help desk needs: the challenge's correlation ID (already on the page) and when
// it ended, in UTC as the server reports it.
function showSupportDetails(waiting, endedAt) {
  const details = waiting.querySelector("[data-support-details]");
  if (!details) return;
  details.querySelector("[data-utc-time]").textContent = endedAt || "";
  details.hidden = false;
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
      const { state, reason, ended_at: endedAt } = await response.json();
      if (state === "approved") {
        form.submit();
        return;
      }
      if (state !== "pending") {
        // The live prompt (a number to choose, "press #", the countdown) goes: CSS hides
        // everything in an ended waiting block but this message and the help-desk details.
        waiting.classList.add("ended");
        status.textContent = messageFor(reason) || messageFor(state);
        status.hidden = false;
        showSupportDetails(waiting, endedAt);
        form.hidden = true;
        const another = document.querySelector(".another-way");
        if (state === "fraud") {
          another?.remove(); // the sign-in was stopped: offering other ways would mislead
        } else {
          another?.setAttribute("open", "");
          const retry = document.querySelector("[data-retry]");
          if (retry) retry.hidden = false;
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
