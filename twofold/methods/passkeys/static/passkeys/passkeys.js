// Passkeys in the browser: create one (settings), sign in with one (the first sign-in page,
// by button or by the browser's autofill), or answer a second-step challenge with one.
// The server makes the options and judges the answer; this only carries them between the
// page and navigator.credentials. Messages come from a <template id="passkey-messages">
// rendered (and translated) by the server.

const supported = () => typeof window.PublicKeyCredential === "function";

function message(key) {
  const template = document.getElementById("passkey-messages");
  const span = template?.content.querySelector(`[data-message="${key}"]`);
  return span ? span.textContent : key;
}

function showError(form, key) {
  const slot = form.querySelector("[data-passkey-error]");
  if (!slot) return;
  slot.textContent = message(key);
  slot.hidden = false;
}

// --- base64url <-> ArrayBuffer, for browsers without the JSON helpers -----------------
function fromB64url(text) {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)).buffer;
}

function toB64url(buffer) {
  const bytes = new Uint8Array(buffer);
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function creationOptions(json) {
  if (PublicKeyCredential.parseCreationOptionsFromJSON) {
    return PublicKeyCredential.parseCreationOptionsFromJSON(json);
  }
  return {
    ...json,
    challenge: fromB64url(json.challenge),
    user: { ...json.user, id: fromB64url(json.user.id) },
    excludeCredentials: (json.excludeCredentials || []).map((c) => ({ ...c, id: fromB64url(c.id) })),
  };
}

function requestOptions(json) {
  if (PublicKeyCredential.parseRequestOptionsFromJSON) {
    return PublicKeyCredential.parseRequestOptionsFromJSON(json);
  }
  return {
    ...json,
    challenge: fromB64url(json.challenge),
    allowCredentials: (json.allowCredentials || []).map((c) => ({ ...c, id: fromB64url(c.id) })),
  };
}

function credentialJSON(credential) {
  if (typeof credential.toJSON === "function") return credential.toJSON();
  const r = credential.response;
  const response = { clientDataJSON: toB64url(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = toB64url(r.attestationObject);
    response.transports = r.getTransports ? r.getTransports() : [];
  } else {
    response.authenticatorData = toB64url(r.authenticatorData);
    response.signature = toB64url(r.signature);
    if (r.userHandle) response.userHandle = toB64url(r.userHandle);
  }
  return {
    id: credential.id,
    rawId: toB64url(credential.rawId),
    type: credential.type,
    response,
    authenticatorAttachment: credential.authenticatorAttachment,
    clientExtensionResults: credential.getClientExtensionResults(),
  };
}

async function fetchOptions(form, url) {
  const token = form.querySelector("[name=csrfmiddlewaretoken]").value;
  const answer = await fetch(url, {
    method: "POST",
    headers: { "X-CSRFToken": token, Accept: "application/json" },
    credentials: "same-origin",
  });
  if (!answer.ok) throw new Error("options");
  return answer.json();
}

// Post the answer with the form, as an ordinary submission: the server redirects.
function submitWith(form, credential, field = "response") {
  form.querySelector(`[name=${field}]`).value = JSON.stringify(credentialJSON(credential));
  HTMLFormElement.prototype.submit.call(form);
}

function failure(error) {
  return error?.name === "NotAllowedError" || error?.name === "AbortError" ? "cancelled" : "failed";
}

// --- Settings: create a passkey ----------------------------------------------------------
function setUpCreate(form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!supported()) return showError(form, "unsupported");
    try {
      const json = await fetchOptions(form, form.dataset.passkeyCreate);
      json.extensions = { ...(json.extensions || {}), credProps: true };
      const credential = await navigator.credentials.create({ publicKey: creationOptions(json) });
      submitWith(form, credential);
    } catch (error) {
      showError(form, failure(error));
    }
  });
}

// --- Sign-in page: a button, and autofill on the user-name field --------------------------
let autofill = null; // the pending conditional request, aborted when the button is used

// The autofill's options came with the page. Fetched as the page loads, they would be
// written to the session while the person's user name may be on its way, and one of the
// two writes would be lost (a session is saved whole). The button, pressed by the person,
// fetches fresh ones.
function pageOptions(form) {
  return JSON.parse(document.getElementById(form.dataset.passkeyOptions).textContent);
}

async function signIn(form, mediation) {
  const json = mediation ? pageOptions(form) : await fetchOptions(form, form.dataset.passkeySignin);
  const request = { publicKey: requestOptions(json) };
  if (mediation) {
    autofill = new AbortController();
    request.mediation = mediation;
    request.signal = autofill.signal;
  }
  const credential = await navigator.credentials.get(request);
  if (credential) submitWith(form, credential);
}

async function setUpSignIn(form) {
  if (!supported()) return;
  form.hidden = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    autofill?.abort();
    autofill = null;
    try {
      await signIn(form, null);
    } catch (error) {
      showError(form, failure(error));
    }
  });
  const conditional = await PublicKeyCredential.isConditionalMediationAvailable?.();
  // The browser offers passkeys in the user-name field's autofill when it says so.
  const field = document.querySelector('input[autocomplete~="username"]');
  if (!conditional || !field) return;
  if (!field.autocomplete.split(/\s+/).includes("webauthn")) field.autocomplete += " webauthn";
  document.body.dataset.passkeyAutofill = "ready";
  signIn(form, "conditional").catch(() => {}); // aborted or dismissed: the button remains
}

// --- Second step: answer the challenge with one of the person's passkeys -----------------
// The button sits inside the sign-in (or step-up) page's form, whose "code" field carries
// the answer; the request options come in a JSON script element the button names.
function setUpChallenge(button) {
  const form = button.closest("form");
  const options = JSON.parse(document.getElementById(button.dataset.passkeyChallenge).textContent);
  const run = async () => {
    try {
      const credential = await navigator.credentials.get({ publicKey: requestOptions(options) });
      submitWith(form, credential, "code");
    } catch (error) {
      showError(form, failure(error));
    }
  };
  button.addEventListener("click", (event) => {
    event.preventDefault();
    run();
  });
  // Asked at once (the person chose, or prefers, their passkey), unless the page is back
  // with a refusal: then only the button asks again, or each load would fail once more.
  const refused = form.querySelector('[role="alert"]:not([hidden])');
  if (supported() && !refused) run();
}

for (const form of document.querySelectorAll("form[data-passkey-create]")) setUpCreate(form);
for (const form of document.querySelectorAll("form[data-passkey-signin]")) setUpSignIn(form);
for (const button of document.querySelectorAll("[data-passkey-challenge]")) setUpChallenge(button);
