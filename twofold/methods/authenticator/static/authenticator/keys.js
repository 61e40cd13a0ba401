// Device keys and codes, with WebCrypto only. The private signing key is made
// non-extractable: it can sign, but no script (ours included) can ever read it out.
// The TOTP seed is imported as a non-extractable HMAC key for the same reason.

const encoder = new TextEncoder();

export function toBase64Url(bytes) {
  let text = "";
  for (const byte of new Uint8Array(bytes)) text += String.fromCharCode(byte);
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

export function fromBase64Url(text) {
  const plain = text.replaceAll("-", "+").replaceAll("_", "/");
  const padded = plain + "=".repeat((4 - (plain.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (ch) => ch.charCodeAt(0));
}

/** A new P-256 key pair for one account; the private half can't be exported. */
export async function newDeviceKey() {
  return crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
}

/** The public key as the server takes it: the uncompressed point, base64url. */
export async function publicKeyText(publicKey) {
  return toBase64Url(await crypto.subtle.exportKey("raw", publicKey));
}

/** ECDSA-SHA256 over the text; WebCrypto gives r || s (IEEE P1363), base64url. */
export async function sign(privateKey, text) {
  const signature = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, privateKey, encoder.encode(text));
  return toBase64Url(signature);
}

export function nonce() {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(18)));
}

const HASHES = { SHA1: "SHA-1", SHA256: "SHA-256", SHA512: "SHA-512" };

export async function importTotpKey(secret, algorithm = "SHA1") {
  return crypto.subtle.importKey(
    "raw", fromBase64Url(secret), { name: "HMAC", hash: HASHES[algorithm] || "SHA-1" }, false, ["sign"],
  );
}

/** The RFC 6238 code for Unix time ``seconds`` (RFC 4226 dynamic truncation). */
export async function totp(key, seconds, period = 30, digits = 6) {
  const counter = Math.floor(seconds / period);
  const message = new DataView(new ArrayBuffer(8));
  message.setUint32(0, Math.floor(counter / 2 ** 32));
  message.setUint32(4, counter >>> 0);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, message.buffer));
  const offset = mac[mac.length - 1] & 0x0f;
  const value = ((mac[offset] & 0x7f) << 24) | (mac[offset + 1] << 16) | (mac[offset + 2] << 8) | mac[offset + 3];
  return String(value % 10 ** digits).padStart(digits, "0");
}
