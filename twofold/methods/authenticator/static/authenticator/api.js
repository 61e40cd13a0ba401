// Talking to the server that holds an account. Polls and decisions are signed by the
// account's device key over a canonical text naming what they are for, with the time.

import { nonce, sign } from "./keys.js";

// The phone's language ("en", "zh-hans"), sent as Accept-Language so that the messages
// the server answers with (a refusal, an expired code) are in it too.
let language = "en";

export function speak(code) {
  language = code;
}

export class ApiError extends Error {
  constructor(status, body) {
    super(body.message || `HTTP ${status}`);
    this.status = status;
    this.code = body.error || "error";
    this.serverTime = body.server_time;
  }
}

async function call(url, options) {
  const headers = { ...options.headers, "Accept-Language": language };
  const response = await fetch(url, { ...options, headers, credentials: "omit", cache: "no-store" });
  let body = {};
  try {
    body = await response.json();
  } catch (error) {
    body = { error: "bad_response", message: `HTTP ${response.status}` };
  }
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

/** The time the server would read now, corrected by what it told this account last. */
export function serverNow(account) {
  return Math.floor(Date.now() / 1000) + (account.offset || 0);
}

export async function activate(server, code, publicKey, name, platform) {
  return call(`${server}/authenticator/api/activate`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ code, public_key: publicKey, name, platform }),
  });
}

export async function pending(account) {
  const path = "/authenticator/api/pending";
  const time = serverNow(account);
  const once = nonce();
  const text = ["twofold-poll", "GET", path, account.device, time, once].join("\n");
  return call(`${account.server}${path}`, {
    method: "GET",
    headers: {
      "X-Twofold-Device": String(account.device),
      "X-Twofold-Time": String(time),
      "X-Twofold-Nonce": once,
      "X-Twofold-Signature": await sign(account.keys.privateKey, text),
    },
  });
}

export async function decide(account, challenge, decision, number) {
  const time = serverNow(account);
  const text = ["twofold-decision", account.device, challenge, decision, number, time].join("\n");
  const signature = await sign(account.keys.privateKey, text);
  return call(`${account.server}/authenticator/api/decisions`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ device: account.device, challenge, decision, number, time, signature }),
  });
}
