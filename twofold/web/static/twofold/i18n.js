// Translations for JavaScript. Text shown to people is written in English and passed
// through t(): t("Approve sign-in"), t("{count} seconds left", { count: 30 }).
// Each language other than English has a catalogue i18n/<language>.json (e.g.
// i18n/zh-hans.json) in the script's folder or a folder above it inside static/, mapping
// the English text to its translation with the same {placeholders}. The test in
// twofold/core/tests/test_translations.py fails on a text shown without t() or missing
// from a catalogue.

let catalogue = {};

// The twofold language for a browser or phone language list: zh, zh-CN, zh-Hans… →
// "zh-hans"; anything else → "en".
export function pickLanguage(preferred = navigator.languages || [navigator.language]) {
  for (const tag of preferred) {
    const lower = String(tag).toLowerCase();
    if (lower.startsWith("zh")) return "zh-hans";
    if (lower.startsWith("en")) return "en";
  }
  return "en";
}

// Load the catalogue for `language` from `folderUrl` (the URL of the i18n/ folder).
// English needs none; a catalogue that fails to load leaves the English text in place.
export async function loadCatalogue(folderUrl, language = document.documentElement.lang) {
  catalogue = {};
  const code = String(language || "en").toLowerCase();
  if (code === "en" || code.startsWith("en-")) return;
  try {
    const response = await fetch(`${folderUrl}/${code}.json`, { credentials: "same-origin" });
    if (response.ok) catalogue = await response.json();
  } catch (error) {
    catalogue = {}; // offline: English is better than nothing
  }
}

export function t(text, values = {}) {
  const found = catalogue[text] || text;
  return found.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}
