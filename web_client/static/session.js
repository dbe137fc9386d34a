// Poll the evaluation's progress until the report is ready, then show the link.
"use strict";
const section = document.getElementById("feedback");
if (section && ["queued", "running"].includes(section.dataset.status)) {
  const timer = setInterval(async () => {
    const response = await fetch(`/api/sessions/${section.dataset.session}/evaluation`);
    if (!response.ok) return;
    const ev = await response.json();
    const bar = document.getElementById("progress");
    if (bar) bar.value = ev.progress;
    const stage = document.getElementById("stage");
    if (stage) stage.textContent = ev.stage;
    if (ev.status === "done" || ev.status === "failed") {
      clearInterval(timer);
      location.reload();
    }
  }, 1500);
}
