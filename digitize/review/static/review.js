// The review page: one field at a time, keyboard first. Every value from the server is user
// data (file names, values) and goes into the page as text (textContent), never as HTML.
//
// A field's image, value and buttons change together: the next field is shown only once its
// image has loaded (or failed to), and until then every input is off. Each decision names the
// row whose picture is on the page (`state.shown`), so a key pressed while a slow image loads
// can never be saved against the field beside it.
"use strict";

const token = new URLSearchParams(location.search).get("token") || "";
const state = {
  items: [], // every field under review, in the chosen order, decided or not
  position: 0, // index into items of the field asked for (items.length: "all reviewed")
  shown: null, // the item whose image, value and buttons are on the page; null: none takes input
  generation: 0, // bumped by every show(): an image arriving for an older one is dropped
  loads: 0, // bumped by every load(): a list arriving for an older order is dropped
  busy: false, // a decision is being saved
  finished: false,
  done: 0,
  total: 0,
  csv: "",
};
// row -> Promise of its loaded <img> (null when there is none). Crops are small; the newest
// few are kept so Back and the preloaded next field show at once.
const images = new Map();
const CACHED_IMAGES = 64;
const $ = (id) => document.getElementById(id);

async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: { "X-Review-Token": token, "Content-Type": "application/json" },
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || `${response.status} ${response.statusText}`);
  return data;
}

function cropUrl(item) {
  return `/api/crop/${item.row}?token=${encodeURIComponent(token)}`;
}

function imageFor(item) {
  let promise = images.get(item.row);
  if (!promise) {
    const image = new Image();
    image.alt = "The field as scanned";
    promise = new Promise((resolve) => {
      image.onload = () => resolve(image);
      image.onerror = () => {
        images.delete(item.row); // a failure may pass (the model loading): ask again next time
        resolve(null);
      };
    });
    image.src = cropUrl(item);
    images.set(item.row, promise);
    while (images.size > CACHED_IMAGES) images.delete(images.keys().next().value);
  }
  return promise;
}

// The whole list, in `order`; the page then shows its first undecided field (so a second
// review resumes where the first stopped).
async function load(order) {
  const loadNumber = ++state.loads;
  ++state.generation; // an image still loading is for the list being replaced
  state.shown = null;
  setInputs(false);
  let data;
  try {
    data = await api(`/api/items?order=${encodeURIComponent(order || "")}`);
  } catch (error) {
    if (loadNumber === state.loads && state.items.length) show(state.position); // as before
    throw error;
  }
  if (loadNumber !== state.loads || state.finished) return; // the menu changed again meanwhile
  state.csv = data.csv;
  state.items = data.items;
  $("order").value = data.order;
  $("csv-name").textContent = `— ${data.csv}`;
  $("done-csv").textContent = data.csv;
  $("finished-csv").textContent = data.csv;
  setProgress(data.done, data.total);
  showReviewed();
  show(firstUndecided(0));
}

function firstUndecided(from) {
  const after = state.items.findIndex((item, index) => index >= from && !item.reviewed);
  if (after >= 0) return after;
  const before = state.items.findIndex((item) => !item.reviewed);
  return before >= 0 ? before : state.items.length;
}

function setProgress(done, total) {
  state.done = done;
  state.total = total;
  $("progress-bar").max = Math.max(total, 1);
  $("progress-bar").value = done;
  $("progress-text").textContent = `${done} of ${total} reviewed`;
}

// Inputs on only while a field is fully shown and nothing is being saved.
function setInputs(on) {
  for (const id of ["answer", "save", "illegible", "back", "clear"]) $(id).disabled = !on;
  if (on) $("clear").disabled = !state.shown?.reviewed;
  $("card").classList.toggle("loading", !on);
  $("card").setAttribute("aria-busy", String(!on));
}

// Ask for the field at `position`: the page keeps the current one, inputs off, until the
// new one's image is there, then changes image, value and buttons in one go.
function show(position) {
  state.position = position;
  const generation = ++state.generation;
  const item = state.items[position];
  state.shown = null;
  if (!item) {
    showDone();
    return;
  }
  setInputs(false);
  $("loading").hidden = $("card").hidden; // the field leaving stays up, dimmed, until then
  imageFor(item).then((image) => {
    if (generation !== state.generation || state.finished) return; // another field was asked for
    render(item, image);
    const following = state.items[position + 1];
    if (following) imageFor(following); // preload: Enter usually goes there
  });
}

function showDone() {
  $("card").hidden = true;
  $("done").hidden = state.finished;
  if (document.activeElement) document.activeElement.blur();
}

function render(item, image) {
  $("card").hidden = false;
  $("done").hidden = true;
  $("loading").hidden = true;
  $("card").dataset.row = String(item.row);
  const group = $("group");
  group.hidden = $("order").value !== "digit";
  if (!group.hidden) {
    const same = state.items.filter((other) => other.group === item.group);
    const place = same.indexOf(item) + 1;
    group.textContent = item.group
      ? `Least certain digit read as ${item.group}: ${place} of ${same.length}`
      : `No digits read: ${place} of ${same.length}`;
  }
  const shownImage = $("crop");
  if (image) {
    image.id = "crop";
    image.hidden = false;
    if (shownImage !== image) shownImage.replaceWith(image);
  } else {
    shownImage.hidden = true;
  }
  $("no-crop").hidden = Boolean(image);
  $("file").textContent = item.file;
  $("page").textContent = item.page;
  $("field").textContent = item.label ? `${item.label} (${item.field})` : item.field;
  $("value").textContent = item.value === "" ? "(empty)" : item.value;
  $("confidence").textContent = `${Math.round(item.confidence * 100)}% overall`;
  showDigits(item);
  $("why").textContent = item.why;
  showStatus(item);
  $("clear").hidden = !item.reviewed; // only a decision can be cleared: no dead button
  $("message").textContent = "";
  const answer = $("answer");
  answer.value = item.reviewed && item.reviewed !== "illegible" ? item.reviewed_value : item.value;
  state.shown = item;
  setInputs(!state.busy);
  answer.focus();
  answer.select(); // typing replaces the value read
}

function showDigits(item) {
  const list = $("digits");
  list.replaceChildren();
  for (const { digit, confidence } of item.digits) {
    const chip = document.createElement("li");
    // Doubtful below the threshold this field's scan used, as the "why" line says.
    chip.className = confidence < 0.5 ? "low" : confidence < item.review_below ? "doubt" : "sure";
    const digitText = document.createElement("span");
    digitText.className = "digit";
    digitText.textContent = digit;
    const percent = document.createElement("span");
    percent.className = "percent";
    percent.textContent = `${Math.round(confidence * 100)}%`;
    chip.append(digitText, percent);
    list.append(chip);
  }
}

function describeDecision(item) {
  const text = {
    "": "Not reviewed yet",
    accepted: "Accepted as read",
    corrected: `Corrected to ${item.reviewed_value === "" ? "(empty)" : item.reviewed_value}`,
    illegible: "Marked illegible",
  }[item.reviewed];
  return text === undefined ? `Reviewed: ${item.reviewed}` : text;
}

function showStatus(item) {
  $("status").textContent = describeDecision(item);
}

// The decided fields, each a button that reopens it. Built only while the list is open: a
// long review has thousands.
function showReviewed() {
  const decided = state.items.filter((item) => item.reviewed);
  $("reviewed-count").textContent = String(decided.length);
  const list = $("reviewed-list");
  if (!$("reviewed").open) {
    list.replaceChildren();
    return;
  }
  list.replaceChildren(
    ...decided.map((item) => {
      const entry = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "reopen";
      button.dataset.row = String(item.row);
      button.textContent = `${item.file} · page ${item.page} · ${item.field}: ${describeDecision(item)}`;
      button.addEventListener("click", () => reopen(item.row));
      entry.append(button);
      return entry;
    }),
  );
}

function reopen(row) {
  if (state.busy || state.finished) return;
  const position = state.items.findIndex((item) => item.row === row);
  if (position >= 0) show(position);
}

function replaceItem(changed) {
  const position = state.items.findIndex((item) => item.row === changed.row);
  if (position >= 0) state.items[position] = changed;
  return position;
}

// Save a decision on the field shown, and only that one; `then` says where to go after.
async function send(body, then) {
  const item = state.shown;
  if (!item || state.busy || state.finished) return;
  state.busy = true;
  setInputs(false);
  try {
    const data = await api("/api/decision", {
      method: "POST",
      body: JSON.stringify({ row: item.row, ...body }),
    });
    const position = replaceItem(data.item);
    setProgress(data.done, data.total);
    showReviewed();
    state.busy = false;
    then(position, data.item);
  } catch (error) {
    state.busy = false;
    if (state.shown === item) {
      $("message").textContent = `Not saved: ${error.message}`;
      setInputs(true);
    }
  }
}

function decide(body) {
  // On to the next undecided field; past the end, back to any field skipped with ↓.
  send(body, (position) => show(firstUndecided(position + 1)));
}

function clearDecision() {
  // Stay on the field, now undecided, so it can be decided again.
  send({ clear: true }, (position, item) => {
    if (state.shown && state.shown.row === item.row) render(item, $("crop").hidden ? null : $("crop"));
  });
}

function back() {
  if (state.busy || state.finished) return;
  const from = Math.min(state.position, state.items.length);
  if (from > 0) show(from - 1);
}

function skip() {
  if (state.busy || !state.shown) return;
  if (state.position + 1 < state.items.length) show(state.position + 1);
}

async function finish() {
  if (state.finished) return;
  $("finish").disabled = true;
  try {
    const data = await api("/api/finish", { method: "POST", body: "{}" });
    state.finished = true;
    state.shown = null;
    ++state.generation;
    setProgress(data.done, data.total);
    setInputs(false);
    $("order").disabled = true;
    $("card").hidden = true;
    $("done").hidden = true;
    $("reviewed").hidden = true;
    $("finished").hidden = false;
  } catch (error) {
    $("finish").disabled = false;
    $("message").textContent = `Not finished: ${error.message}`;
    $("progress-text").textContent = `Not finished: ${error.message}`;
  }
}

function onKey(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return; // the browser's own shortcuts
  if (!state.shown || state.busy) {
    event.preventDefault(); // the field is changing: no key may act on the one leaving
    return;
  }
  if (event.key === "Enter" && event.shiftKey) {
    event.preventDefault();
    back();
  } else if (event.key === "Enter") {
    event.preventDefault();
    decide({ value: $("answer").value });
  } else if (event.key === "ArrowUp") {
    event.preventDefault();
    back();
  } else if (event.key === "ArrowDown") {
    event.preventDefault();
    skip();
  } else if (event.key === "x" || event.key === "X") {
    event.preventDefault();
    decide({ illegible: true });
  } else if (event.key === "Escape") {
    event.preventDefault();
    const answer = $("answer");
    answer.value = state.shown.value;
    answer.select();
  } else if (event.key.length === 1 && !/[0-9]/.test(event.key)) {
    event.preventDefault(); // a field holds digits only
  }
}

// Keys outside the value box: while a field is loading (every input is off, so they land
// here) none may act; on the "all reviewed" screen Shift+Enter goes back.
function onPageKey(event) {
  if (event.target === $("answer")) return;
  const inPageControl = event.target instanceof HTMLElement && event.target.closest("button, select, summary");
  if (event.key === "Enter" && event.shiftKey && !state.shown && !state.busy && !inPageControl) {
    event.preventDefault(); // else the Enter, landing in the input back() focuses, submits it
    if (state.position >= state.items.length) back();
  }
}

function start() {
  $("answer").addEventListener("keydown", onKey);
  $("answer").addEventListener("input", (event) => {
    const digits = event.target.value.replace(/[^0-9]/g, ""); // pasted text, too
    if (digits !== event.target.value) event.target.value = digits;
  });
  $("decide").addEventListener("submit", (event) => {
    event.preventDefault();
    decide({ value: $("answer").value });
  });
  $("illegible").addEventListener("click", () => decide({ illegible: true }));
  $("back").addEventListener("click", back);
  $("clear").addEventListener("click", clearDecision);
  $("finish").addEventListener("click", finish);
  $("reviewed").addEventListener("toggle", showReviewed);
  $("order").addEventListener("change", (event) => {
    load(event.target.value).catch(fail);
  });
  document.addEventListener("keydown", onPageKey);
  load("").catch(fail);
}

function fail(error) {
  $("progress-text").textContent = `Cannot load the fields: ${error.message}`;
}

start();
