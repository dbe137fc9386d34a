// The text rehearsal: send the learner's turn, show the patient's reply as it streams in.
"use strict";
const form = document.getElementById("say");
const text = document.getElementById("text");
const log = document.getElementById("log");
const statusLine = document.getElementById("status");
const csrf = document.querySelector('meta[name="csrf-token"]').content;

function line(speaker, words) {
  const p = document.createElement("p");
  p.className = "turn " + speaker;
  const tag = document.createElement("span");
  tag.className = "tag";
  tag.textContent = speaker === "learner" ? "You" : "Patient";
  p.append(tag, " ", words);  // text nodes: never markup
  log.append(p);
  log.scrollTop = log.scrollHeight;
  return p;
}

text.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
});

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const said = text.value.trim();
  if (!said) return;
  text.value = "";
  form.querySelector("button").disabled = true;
  line("learner", said);
  const reply = line("patient", "");
  statusLine.textContent = "The patient is answering…";
  try {
    const response = await fetch(`/api/rehearsals/${form.dataset.session}/turns`, {
      method: "POST",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
      body: JSON.stringify({text: said}),
    });
    if (!response.ok) {
      const body = await response.json().catch(() => ({detail: response.statusText}));
      throw new Error(body.detail || response.statusText);
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      reply.append(value);
      log.scrollTop = log.scrollHeight;
    }
    statusLine.textContent = "";
  } catch (err) {
    reply.remove();
    statusLine.textContent = "Not sent: " + err.message + ". Your words are saved; try again.";
  } finally {
    form.querySelector("button").disabled = false;
    text.focus();
  }
});
