// The app's accounts, in IndexedDB: CryptoKey objects are stored as they are (structured
// clone), so non-extractable keys stay non-extractable and never exist as bytes here.

const DB = "twofold-authenticator";
const STORE = "accounts";

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "id" });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function run(mode, work) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const transaction = db.transaction(STORE, mode);
    const result = work(transaction.objectStore(STORE));
    transaction.oncomplete = () => resolve(result.result);
    transaction.onerror = () => reject(transaction.error);
  });
}

export const accounts = {
  all: () => run("readonly", (store) => store.getAll()),
  put: (account) => run("readwrite", (store) => store.put(account)),
  remove: (id) => run("readwrite", (store) => store.delete(id)),
};
