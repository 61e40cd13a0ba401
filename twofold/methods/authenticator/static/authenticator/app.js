// The twofold Authenticator: accounts with their codes, activation, and push approvals.
// It speaks the phone's language: the page's own words come translated from the server
// (which reads the phone's Accept-Language), the words set here go through t() with the
// catalogue in i18n/, loaded before anything is shown.
import * as api from "./api.js";
import { loadCatalogue, pickLanguage, t } from "../twofold/i18n.js";
import { importTotpKey, newDeviceKey, publicKeyText, totp } from "./keys.js";
import { accounts as store } from "./store.js";

const POLL_MS = 3000;
const $ = (id) => document.getElementById(id);

// What the result screen says after each outcome: a heading and a line under it.
const RESULTS = {
  approved: () => [t("Approved"), t("You're signed in on the other screen.")],
  denied: () => [t("Denied"), t("The sign-in was stopped. If it wasn't you, change your password.")],
  fraud: () => [t("Fraud reported"), t("The sign-in was stopped and your organisation was told.")],
};

let accounts = [];
let shown = null; // { account, request } on the approval screen
const answered = new Set(); // challenge IDs decided on this phone

// --- Screens -----------------------------------------------------------------------------

function show(view) {
  for (const id of ["accounts-view", "add-view", "request-view", "result-view"]) {
    $(id).hidden = id !== view;
  }
  $("add-account").hidden = view !== "accounts-view";
}

function platform() {
  const agent = navigator.userAgent;
  if (/Android/i.test(agent)) return "Android";
  if (/iPhone|iPad|iPod/i.test(agent)) return "iOS";
  return "Web";
}

// --- Accounts and codes --------------------------------------------------------------------

function renderAccounts() {
  const list = $("accounts");
  list.replaceChildren();
  for (const account of accounts) {
    const item = $("account-template").content.firstElementChild.cloneNode(true);
    item.dataset.id = account.id;
    item.querySelector(".account-org").textContent = account.organisation;
    item.querySelector(".account-user").textContent = account.user;
    item.querySelector(".account-avatar").textContent = (account.organisation || "?").slice(0, 1).toUpperCase();
    if (account.removed) {
      item.classList.add("removed");
      item.querySelector(".account-code-row").hidden = true;
      const removed = item.querySelector(".account-removed");
      removed.hidden = false;
      removed.querySelector("p").textContent = t("This account was removed from your organisation's records.");
      removed.querySelector("[data-remove]").addEventListener("click", () => forget(account));
    }
    list.append(item);
  }
  $("empty-state").hidden = accounts.length > 0;
  tick();
}

async function tick() {
  for (const account of accounts) {
    const item = document.querySelector(`.account[data-id="${account.id}"]`);
    if (!item || account.removed) continue;
    const now = Date.now() / 1000 + (account.offset || 0);
    const code = await totp(account.totpKey, now, account.period, account.digits);
    item.querySelector(".account-code").textContent = `${code.slice(0, 3)} ${code.slice(3)}`;
    item.querySelector(".account-code").dataset.code = code;
    const left = account.period - (now % account.period);
    const arc = item.querySelector(".countdown-arc");
    arc.style.setProperty("stroke-dashoffset", String(94.25 * (1 - left / account.period)));
    item.classList.toggle("expiring", left <= 5);
  }
}

async function forget(account) {
  if (!window.confirm(t("Remove this account from this app? You can't undo this."))) return;
  await store.remove(account.id);
  accounts = accounts.filter((a) => a.id !== account.id);
  renderAccounts();
}

async function markRemoved(account) {
  account.removed = true;
  await store.put(account);
  renderAccounts();
}

// --- Activation -----------------------------------------------------------------------------

function parseActivation(input) {
  const value = input.trim();
  const fromLink = value.match(/^(https?:\/\/[^/#?]+)[^#]*#activate=(\d{12})$/);
  if (fromLink) return { server: fromLink[1], code: fromLink[2] };
  const digits = value.replace(/[\s-]/g, "");
  if (/^\d{12}$/.test(digits)) return { server: location.origin, code: digits };
  return null;
}

function openAdd(prefill = "") {
  $("activation-input").value = prefill;
  $("device-name").value ||= platform() === "Web" ? t("Phone") : t("{platform} phone", { platform: platform() });
  $("add-error").hidden = true;
  show("add-view");
}

async function activate(event) {
  event.preventDefault();
  const error = $("add-error");
  error.hidden = true;
  const target = parseActivation($("activation-input").value);
  if (!target) {
    error.textContent = t("Paste the activation link, or type the 12-digit code.");
    error.hidden = false;
    return;
  }
  $("activate").disabled = true;
  try {
    const keys = await newDeviceKey();
    const answer = await api.activate(
      target.server, target.code, await publicKeyText(keys.publicKey), $("device-name").value, platform(),
    );
    const account = {
      id: crypto.randomUUID(),
      server: target.server,
      device: answer.device,
      organisation: answer.organisation,
      user: answer.user,
      keys,
      totpKey: await importTotpKey(answer.totp.secret, answer.totp.algorithm),
      digits: answer.totp.digits,
      period: answer.totp.period,
      offset: answer.server_time - Math.floor(Date.now() / 1000),
      removed: false,
      added: new Date().toISOString(),
    };
    await store.put(account);
    accounts.push(account);
    $("activation-input").value = "";
    renderAccounts();
    show("accounts-view");
  } catch (failure) {
    error.textContent = failure instanceof api.ApiError ? failure.message : offline();
    error.hidden = false;
  } finally {
    $("activate").disabled = false;
  }
}

// --- Push approvals ---------------------------------------------------------------------------

function openRequest(account, request) {
  shown = { account, request };
  const view = $("request-view");
  for (const field of ["organisation", "user", "application", "address"]) {
    view.querySelector(`[data-field="${field}"]`).textContent = request[field] || "—";
  }
  view.querySelector('[data-field="time"]').textContent = new Date(request.time).toLocaleTimeString([], {
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
  $("number-input").value = "";
  $("request-error").hidden = true;
  show("request-view");
  $("number-input").focus();
}

function offline() {
  return t("Can't reach the server. Check your connection and try again.");
}

function showResult(heading, detail, ok) {
  $("result-view").classList.toggle("ok", ok);
  $("result-view").classList.toggle("bad", !ok);
  $("result-heading").textContent = heading;
  $("result-text").textContent = detail;
  show("result-view");
}

async function answer(decision) {
  if (!shown) return;
  const { account, request } = shown;
  const number = decision === "approve" ? $("number-input").value.trim() : "";
  if (decision === "approve" && !/^\d{2}$/.test(number)) {
    $("request-error").textContent = t("Type the two-digit number from the sign-in screen.");
    $("request-error").hidden = false;
    return;
  }
  for (const button of document.querySelectorAll("[data-decision]")) button.disabled = true;
  try {
    const { state } = await api.decide(account, request.id, decision, number);
    answered.add(request.id);
    shown = null;
    const [heading, detail] = RESULTS[state in RESULTS ? state : "denied"]();
    showResult(heading, detail, state === "approved");
  } catch (failure) {
    if (!(failure instanceof api.ApiError)) {
      $("request-error").textContent = offline();
      $("request-error").hidden = false;
      return;
    }
    answered.add(request.id);
    shown = null;
    if (failure.code === "device_removed") await markRemoved(account);
    showResult(t("Not approved"), failure.message, false);
  } finally {
    for (const button of document.querySelectorAll("[data-decision]")) button.disabled = false;
  }
}

async function pollOne(account) {
  try {
    const { requests, server_time: serverTime } = await api.pending(account);
    account.offset = serverTime - Math.floor(Date.now() / 1000);
    const fresh = requests.find((request) => !answered.has(request.id));
    if (fresh && !shown && $("add-view").hidden) openRequest(account, fresh);
    if (shown && shown.account.id === account.id && !requests.some((r) => r.id === shown.request.id)) {
      shown = null; // answered elsewhere or expired
      show("accounts-view");
    }
    return true;
  } catch (failure) {
    if (!(failure instanceof api.ApiError)) return false;
    if (failure.code === "device_removed") await markRemoved(account);
    else if (failure.serverTime) account.offset = failure.serverTime - Math.floor(Date.now() / 1000);
    return true;
  }
}

async function poll() {
  const live = accounts.filter((account) => !account.removed);
  const reached = await Promise.all(live.map(pollOne));
  $("offline-banner").hidden = reached.every(Boolean) && navigator.onLine;
  setTimeout(poll, POLL_MS);
}

function takeActivationLink() {
  const link = location.hash.match(/^#activate=(\d{12})$/);
  if (link) {
    history.replaceState(null, "", location.pathname); // the code leaves the address bar
    openAdd(link[1].replace(/(\d{4})(?=\d)/g, "$1 "));
  }
}

// --- Start ---------------------------------------------------------------------------------------

async function start() {
  const language = pickLanguage();
  api.speak(language);
  await loadCatalogue(new URL("./i18n", import.meta.url).href, language);
  accounts = (await store.all()).sort((a, b) => (a.added || "").localeCompare(b.added || ""));
  renderAccounts();
  show("accounts-view");
  takeActivationLink();
  window.addEventListener("hashchange", takeActivationLink); // a link opened in the app
  $("add-account").addEventListener("click", () => openAdd());
  $("empty-add").addEventListener("click", () => openAdd());
  $("add-cancel").addEventListener("click", () => show("accounts-view"));
  $("add-form").addEventListener("submit", activate);
  $("decision-form").addEventListener("submit", (event) => {
    event.preventDefault();
    answer("approve");
  });
  for (const button of document.querySelectorAll('[data-decision]:not([data-decision="approve"])')) {
    button.addEventListener("click", () => answer(button.dataset.decision));
  }
  $("result-done").addEventListener("click", () => show("accounts-view"));
  window.addEventListener("offline", () => ($("offline-banner").hidden = false));
  setInterval(tick, 1000);
  poll();
  const worker = document.querySelector("script[data-worker]")?.dataset.worker;
  if (worker && "serviceWorker" in navigator) {
    navigator.serviceWorker.register(worker, { scope: new URL(".", new URL(worker, location)).pathname });
  }
}

start();
