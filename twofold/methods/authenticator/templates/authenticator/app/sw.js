{% load static %}// The twofold Authenticator's service worker: keeps the app's files for offline use.
// Requests to the API always go to the network; the app's own files are fetched fresh
// when possible and taken from the cache when the phone is offline. The translations
// (i18n.js and the app's catalogues) are files of the app like any other.
const CACHE = "twofold-authenticator-v2";
const SHELL = [
  "{% url 'authenticator-app' %}",
  "{% url 'authenticator-manifest' %}",
  "{% static 'authenticator/app.css' %}",
  "{% static 'authenticator/app.js' %}",
  "{% static 'authenticator/store.js' %}",
  "{% static 'authenticator/keys.js' %}",
  "{% static 'authenticator/api.js' %}",
  "{% static 'twofold/i18n.js' %}",
  "{% static 'authenticator/i18n/zh-hans.json' %}",
  "{% static 'authenticator/icon.svg' %}",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((name) => name !== CACHE).map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin || url.pathname.includes("/api/")) {
    return;
  }
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        if (response.ok && SHELL.includes(url.pathname)) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(event.request, copy));
        }
        return response;
      })
      .catch(() => caches.match(event.request, { ignoreSearch: true, ignoreVary: true })),
  );
});
