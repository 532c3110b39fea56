// The review page: one field at a time, keyboard first. Every value from the server is user
// data (file names, values) and goes into the page as text (textContent), never as HTML.
"use strict";

const token = new URLSearchParams(location.search).get("token") || "";
const state = { items: [], position: 0, done: 0, total: 0, busy: false, csv: "", reviewBelow: 1 };
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

// The queue is the fields still undecided when it is loaded (so a second review resumes);
// fields decided in this visit stay in it, so Back can revisit them.
async function load(order) {
  const data = await api(`/api/items?order=${encodeURIComponent(order || "")}`);
  state.csv = data.csv;
  state.reviewBelow = data.review_below;
  state.items = data.items.filter((item) => !item.reviewed);
  state.position = 0;
  $("order").value = data.order;
  $("csv-name").textContent = `— ${data.csv}`;
  $("done-csv").textContent = data.csv;
  setProgress(data.done, data.total);
  show();
}

function setProgress(done, total) {
  state.done = done;
  state.total = total;
  $("progress-bar").max = Math.max(total, 1);
  $("progress-bar").value = done;
  $("progress-text").textContent = `${done} of ${total} reviewed`;
}

function current() {
  return state.items[state.position];
}

function show() {
  const item = current();
  $("card").hidden = !item;
  $("done").hidden = Boolean(item);
  if (!item) {
    document.activeElement.blur();
    return;
  }
  const group = $("group");
  group.hidden = $("order").value !== "digit";
  if (!group.hidden) {
    const same = state.items.filter((other) => other.group === item.group);
    const place = same.indexOf(item) + 1;
    group.textContent = item.group
      ? `Least certain digit read as ${item.group}: ${place} of ${same.length}`
      : `No digits read: ${place} of ${same.length}`;
  }
  const crop = $("crop");
  crop.hidden = false;
  $("no-crop").hidden = true;
  crop.src = cropUrl(item);
  $("file").textContent = item.file;
  $("page").textContent = item.page;
  $("field").textContent = item.field;
  $("value").textContent = item.value === "" ? "(empty)" : item.value;
  $("confidence").textContent = `${Math.round(item.confidence * 100)}% overall`;
  showDigits(item);
  $("why").textContent = item.why;
  showStatus(item);
  $("message").textContent = "";
  const answer = $("answer");
  answer.value = item.reviewed && item.reviewed !== "illegible" ? item.reviewed_value : item.value;
  answer.focus();
  answer.select(); // typing replaces the value read
  preload(state.items[state.position + 1]);
}

function showDigits(item) {
  const list = $("digits");
  list.replaceChildren();
  for (const { digit, confidence } of item.digits) {
    const chip = document.createElement("li");
    chip.className = confidence < 0.5 ? "low" : confidence < state.reviewBelow ? "doubt" : "sure";
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

function showStatus(item) {
  const text = {
    "": "Not reviewed yet",
    accepted: "Accepted as read",
    corrected: `Corrected to ${item.reviewed_value === "" ? "(empty)" : item.reviewed_value}`,
    illegible: "Marked illegible",
  }[item.reviewed];
  $("status").textContent = text === undefined ? `Reviewed: ${item.reviewed}` : text;
}

function preload(item) {
  if (item) new Image().src = cropUrl(item);
}

async function decide(body) {
  const item = current();
  if (!item || state.busy) return;
  state.busy = true;
  try {
    const data = await api("/api/decision", {
      method: "POST",
      body: JSON.stringify({ row: item.row, ...body }),
    });
    state.items[state.position] = data.item;
    setProgress(data.done, data.total);
    next();
  } catch (error) {
    $("message").textContent = `Not saved: ${error.message}`;
  } finally {
    state.busy = false;
  }
}

// On to the next field; past the end, back to any field skipped with the down arrow.
function next() {
  if (state.position + 1 < state.items.length) {
    state.position += 1;
  } else {
    const skipped = state.items.findIndex((item) => !item.reviewed);
    state.position = skipped >= 0 ? skipped : state.items.length;
  }
  show();
}

function back() {
  if (state.position > 0) {
    state.position = Math.min(state.position, state.items.length) - 1;
    show();
  }
}

function skip() {
  if (state.position + 1 < state.items.length) {
    state.position += 1;
    show();
  }
}

function onKey(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return; // the browser's own shortcuts
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
    answer.value = current().value;
    answer.select();
  } else if (event.key.length === 1 && !/[0-9]/.test(event.key)) {
    event.preventDefault(); // a field holds digits only
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
  $("crop").addEventListener("error", () => {
    $("crop").hidden = true;
    $("no-crop").hidden = false;
  });
  $("order").addEventListener("change", (event) => {
    load(event.target.value).catch(fail);
  });
  // On the "all reviewed" screen the input is hidden: Shift+Enter still goes back.
  document.addEventListener("keydown", (event) => {
    if (!current() && event.key === "Enter" && event.shiftKey) {
      event.preventDefault(); // else the Enter, landing in the input back() focuses, submits it
      back();
    }
  });
  load("").catch(fail);
}

function fail(error) {
  $("progress-text").textContent = `Cannot load the fields: ${error.message}`;
}

start();
