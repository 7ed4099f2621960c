/// `GET /`: a page for trying the engine in a browser. A text area whose suggestions come from
/// the service as you type; Tab (or a click) takes the first (or the clicked) suggestion, Ctrl+Enter
/// learns what you wrote and starts a new text. No build step, no outside files: one page.
enum ServicePage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>NextWord</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
  h1 { font-size: 1.4rem; margin: 0 0 .5rem; }
  .row { display: flex; gap: .75rem; flex-wrap: wrap; align-items: center; margin: .5rem 0; }
  label { font-size: .9rem; color: #555; }
  input[type=text], input[type=password] { font: inherit; padding: .2rem .4rem; width: 11rem; }
  textarea { width: 100%; box-sizing: border-box; height: 10rem; font: inherit; padding: .5rem; }
  #suggestions { display: flex; gap: .5rem; min-height: 2.2rem; margin: .5rem 0; }
  .suggestion { font: inherit; padding: .2rem .8rem; border: 1px solid #aab; border-radius: 1rem; background: #f4f5fb; cursor: pointer; }
  .suggestion:first-child { border-color: #447; font-weight: 600; }
  #status { font-size: .85rem; color: #666; min-height: 1.3rem; }
  #status.error { color: #b00; }
  kbd { font-size: .8rem; border: 1px solid #bbb; border-radius: 3px; padding: 0 .25rem; }
</style>
</head>
<body>
<h1>NextWord</h1>
<div class="row">
  <label>User <input id="user" type="text" value="demo" autocomplete="off"></label>
  <label>Token <input id="token" type="password" placeholder="if the service needs one" autocomplete="off"></label>
  <label><input id="incognito" type="checkbox"> Incognito</label>
</div>
<textarea id="text" placeholder="Start typing…" autofocus spellcheck="false"></textarea>
<div id="suggestions" aria-live="polite"></div>
<div class="row">
  <button id="learn" type="button">Learn this text</button>
  <span><kbd>Tab</kbd> takes the first suggestion · <kbd>Ctrl</kbd>+<kbd>Enter</kbd> learns the text</span>
</div>
<div id="status"></div>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const text = $("text"), strip = $("suggestions"), status = $("status");
const session = "page";
let current = [], sequence = 0;

function say(message, isError) {
  status.textContent = message || "";
  status.className = isError ? "error" : "";
}

async function call(path, body) {
  const headers = { "Content-Type": "application/json" };
  if ($("token").value) headers["Authorization"] = "Bearer " + $("token").value;
  const user = $("user").value;
  const response = await fetch(path + "?user=" + encodeURIComponent(user), {
    method: "POST", headers, body: JSON.stringify(Object.assign({ user }, body)) });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(answer.error || ("HTTP " + response.status));
  return answer;
}

// The word being typed: the letters right before the caret (what a suggestion replaces).
function partialWord(prefix) {
  const match = prefix.match(/[\p{L}\p{N}\p{M}'’_-]*$/u);
  return match ? match[0] : "";
}

// `forText`: the text the suggestions are for (kept on the strip, so a test can tell a fresh
// answer from a late one).
function show(suggestions, forText) {
  current = suggestions;
  strip.dataset.forText = forText;
  strip.replaceChildren(...suggestions.map((s, i) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "suggestion";
    button.id = "suggestion-" + i;
    button.textContent = s.text;
    button.title = s.source + ", p = " + s.probability.toFixed(4);
    button.addEventListener("mousedown", (event) => { event.preventDefault(); accept(i); });
    return button;
  }));
}

async function refresh() {
  const mine = ++sequence;
  const prefix = text.value.slice(0, text.selectionStart);
  try {
    const answer = await call("/v1/suggest", { session, text: prefix, limit: 3 });
    // A fresh answer clears an error line, not news such as "Learned."
    if (mine === sequence) { show(answer.suggestions, prefix); if (status.className === "error") say(""); }
  } catch (error) {
    if (mine === sequence) { show([], prefix); say(error.message, true); }
  }
}

function accept(index) {
  const suggestion = current[index];
  if (!suggestion) return;
  const caret = text.selectionStart;
  const prefix = text.value.slice(0, caret);
  const before = prefix.slice(0, prefix.length - partialWord(prefix).length);
  const inserted = suggestion.text + " ";
  text.value = before + inserted + text.value.slice(caret);
  const position = before.length + inserted.length;
  text.setSelectionRange(position, position);
  text.focus();
  refresh();
}

async function learn() {
  if (!text.value.trim()) return;
  try {
    const answer = await call("/v1/learn", { session, text: text.value });
    say(answer.learned ? "Learned." : "Incognito: nothing was learned.");
    text.value = "";
    refresh();
  } catch (error) { say(error.message, true); }
}

text.addEventListener("input", refresh);
text.addEventListener("click", refresh);
text.addEventListener("keydown", (event) => {
  if (event.key === "Tab" && current.length > 0 && !event.shiftKey) { event.preventDefault(); accept(0); }
  else if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); learn(); }
});
$("learn").addEventListener("click", learn);
$("incognito").addEventListener("change", async (event) => {
  try {
    await call("/v1/incognito", { session, on: event.target.checked });
    say(event.target.checked ? "Incognito: nothing typed here is learned." : "Learning again.");
    refresh();
  } catch (error) { say(error.message, true); event.target.checked = !event.target.checked; }
});
refresh();
</script>
</body>
</html>
"""#
}
