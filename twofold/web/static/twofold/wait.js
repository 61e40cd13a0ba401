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

// Now in UTC as the server writes times ("2026-12-06 05:41:44"), for the help desk.
function utcNow() {
  return new Date().toISOString().slice(0, 19).replace("T", " ");
}

// The live prompt (a number to choose, "press #", the countdown) goes: CSS hides
// everything in an ended waiting block but the message and the help-desk details.
function end(waiting, form, status, state, reason, endedAt) {
  waiting.classList.add("ended");
  status.textContent = messageFor(reason) || messageFor(state);
  status.hidden = false;
  showSupportDetails(waiting, endedAt);
  form.hidden = true;
  const another = document.querySelector(".another-way");
  if (state === "fraud" || state === "gone") {
    another?.remove(); // stopped, or nothing left to continue: other ways would mislead
  } else {
    another?.setAttribute("open", "");
    const retry = document.querySelector("[data-retry]");
    if (retry) retry.hidden = false;
  }
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
    if (response.status === 404) {
      // The wait itself is gone (signed out everywhere, a newer sign-in in this browser):
      // nothing will ever answer this page, so its live prompt must go too.
      end(waiting, form, status, "gone", "", utcNow());
      const restart = document.querySelector("[data-restart]");
      if (restart) restart.hidden = false;
      return;
    }
    if (response.ok) {
      const { state, reason, ended_at: endedAt } = await response.json();
      if (state === "approved") {
        form.submit();
        return;
      }
      if (state !== "pending") {
        end(waiting, form, status, state, reason, endedAt);
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
