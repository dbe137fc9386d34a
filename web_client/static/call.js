// The video call: the learner's microphone goes to the server, the patient's voice and face
// come back, and captions and session events arrive on a data channel. Signalling is one
// offer and one answer, sent once ICE gathering is complete (no trickle ICE).
"use strict";
const root = document.getElementById("call");
const sessionId = root.dataset.session;
const iceServers = JSON.parse(root.dataset.ice);
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const $ = (id) => document.getElementById(id);
const ui = {
  patient: $("patient"), selfView: $("self-view"), captions: $("captions"),
  mute: $("mute"), captionsToggle: $("captions-toggle"), camera: $("camera"),
  consent: $("camera-consent"), rejoin: $("rejoin"), connection: $("connection"),
  network: $("network"), latency: $("latency"), state: $("patient-state"),
  micProblem: $("mic-problem"),
  micProblemText: $("mic-problem-text"),
};
const STATES = {
  listening: "The patient is listening.",
  thinking: "The patient is thinking…",
  speaking: "The patient is speaking.",
  interrupted: "The patient stopped to listen.",
};
const MAX_ATTEMPTS = 5;
const MAX_CAPTIONS = 50;

let mic = null;     // the microphone's MediaStream
let camera = null;  // the camera's MediaStream, while the self-view is on
let pc = null;      // the current RTCPeerConnection (a new one after each rejoin)
let videoSender = null;
let attempts = 0;
let retryTimer = null;
let offeredAt = 0;  // performance.now() when the current connection began
let setupMs = null;  // how long it took to connect: gathering, signalling, ICE and DTLS

function say(text) { ui.connection.textContent = text; }

async function startMicrophone() {
  if (!navigator.mediaDevices) {
    return micProblem("The browser only allows the microphone on a secure (https) page.");
  }
  try {
    mic = await navigator.mediaDevices.getUserMedia({
      audio: {echoCancellation: true, noiseSuppression: true, autoGainControl: true},
    });
  } catch (err) {
    if (err.name === "NotAllowedError" || err.name === "SecurityError") {
      $("mic-allow").hidden = false;
      return micProblem("The browser blocked the microphone, so the patient cannot hear you.");
    }
    if (err.name === "NotFoundError") {
      return micProblem("No microphone was found. Plug one in, then reload this page.");
    }
    return micProblem(`The microphone could not start (${err.name}).`);
  }
  ui.mute.disabled = false;
  return true;
}

function micProblem(text) {
  ui.micProblemText.textContent = text;
  ui.micProblem.hidden = false;
  say("Not connected: the call needs your microphone.");
  return false;
}

function gatheringComplete(conn, ms = 3000) {
  return new Promise((resolve) => {
    if (conn.iceGatheringState === "complete") return resolve();
    conn.addEventListener("icegatheringstatechange", () => {
      if (conn.iceGatheringState === "complete") resolve();
    });
    setTimeout(resolve, ms);  // a slow STUN server must not hold up the call
  });
}

async function connect() {
  clearTimeout(retryTimer);
  if (pc) { pc.onconnectionstatechange = null; pc.close(); }
  offeredAt = performance.now();
  const conn = new RTCPeerConnection({iceServers});
  pc = conn;
  for (const track of mic.getAudioTracks()) conn.addTrack(track, mic);
  // sendrecv from the start, but nothing is sent until the learner consents to the camera
  videoSender = conn.addTransceiver("video", {direction: "sendrecv"}).sender;
  if (camera && ui.consent.checked) await videoSender.replaceTrack(camera.getVideoTracks()[0]);
  const channel = conn.createDataChannel("events");
  channel.onmessage = (e) => onEvent(JSON.parse(e.data));
  const remote = new MediaStream();
  conn.ontrack = (e) => {
    remote.addTrack(e.track);
    ui.patient.srcObject = remote;
    ui.patient.play().catch(() => say("Press any key or button to hear the patient."));
  };
  conn.onconnectionstatechange = () => onState(conn);
  say(attempts ? "Reconnecting…" : "Connecting…");
  await conn.setLocalDescription(await conn.createOffer());
  await gatheringComplete(conn);
  const response = await fetch(`/api/calls/${sessionId}/offer`, {
    method: "POST",
    headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
    body: JSON.stringify({sdp: conn.localDescription.sdp, type: conn.localDescription.type}),
  });
  if (response.status === 404) return ended();
  if (!response.ok) {
    const body = await response.json().catch(() => ({detail: response.statusText}));
    throw new Error(body.detail || response.statusText);
  }
  if (pc === conn) await conn.setRemoteDescription(await response.json());
}

function onState(conn) {
  if (conn !== pc) return;
  const state = conn.connectionState;
  if (state === "connected") {
    clearTimeout(retryTimer);  // it came back by itself
    setupMs = Math.round(performance.now() - offeredAt);
    attempts = 0;
    ui.rejoin.hidden = true;
    say("Connected.");
  } else if (state === "disconnected") {
    say("The connection is interrupted…");
    retryTimer = setTimeout(rejoin, 5000);  // often it recovers by itself
  } else if (state === "failed" || state === "closed") {
    rejoin();  // closed here means by the server: a page that hangs up detaches first
  }
}

function rejoin() {
  clearTimeout(retryTimer);
  attempts += 1;
  if (attempts > MAX_ATTEMPTS) {
    say("The connection was lost.");
    ui.rejoin.hidden = false;
    return;
  }
  say("Reconnecting…");
  retryTimer = setTimeout(() => connect().catch(failed), 1000 * attempts);
}

function failed(err) {
  say(`Not connected: ${err.message}`);
  ui.rejoin.hidden = false;
}

function ended() {
  say("This call has ended.");
  location.href = `/sessions/${sessionId}`;
}

// Events are the voice session's (SessionEvent kind and data): {"type": kind, ...data}.
function onEvent(event) {
  const kind = event.type;
  if (kind === "caption_patient") caption("patient", event.text);
  else if (kind === "caption_partial") caption("learner", event.text, true);
  else if (kind === "caption_learner") caption("learner", event.text);
  else if (kind in STATES) ui.state.textContent = "· " + STATES[kind];
  else if (kind === "latency" && typeof event.voice_to_voice_s === "number") {
    ui.latency.textContent = `· last reply after ${event.voice_to_voice_s.toFixed(2)} s`;
  } else if (kind === "error") say(`Problem: ${event.message}`);
  else if (kind === "ended") ended();
}

// A partial transcript of the learner is shown in one line that the next one replaces.
function caption(speaker, text, partial = false) {
  let line = ui.captions.lastElementChild;
  if (!(line && line.dataset.partial)) {
    line = document.createElement("p");
    ui.captions.append(line);
  }
  line.className = "caption " + speaker;
  line.dataset.partial = partial ? "1" : "";
  const tag = document.createElement("span");
  tag.className = "tag";
  tag.textContent = speaker === "learner" ? "You:" : "Patient:";
  line.replaceChildren(tag, " ", String(text));  // text nodes: never markup
  while (ui.captions.childElementCount > MAX_CAPTIONS) ui.captions.firstElementChild.remove();
  ui.captions.scrollTop = ui.captions.scrollHeight;
}

async function showRoundTrip() {
  if (!pc || pc.connectionState !== "connected") return;
  const stats = await pc.getStats();
  stats.forEach((report) => {
    if (report.type === "candidate-pair" && report.nominated && report.state === "succeeded"
        && report.currentRoundTripTime !== undefined) {
      const ms = Math.round(report.currentRoundTripTime * 1000);
      ui.network.textContent = `· network round trip ${ms} ms`;
    }
  });
}

ui.mute.addEventListener("click", () => {
  const muted = ui.mute.getAttribute("aria-pressed") !== "true";
  for (const track of mic.getAudioTracks()) track.enabled = !muted;
  ui.mute.setAttribute("aria-pressed", String(muted));  // the label stays: pressed = muted
});

ui.captionsToggle.addEventListener("click", () => {
  const on = ui.captionsToggle.getAttribute("aria-pressed") !== "true";
  ui.captionsToggle.setAttribute("aria-pressed", String(on));
  ui.captions.hidden = !on;
  ui.captions.setAttribute("aria-live", on ? "polite" : "off");
});

async function sendCamera() {
  if (!videoSender) return;
  const track = camera && ui.consent.checked ? camera.getVideoTracks()[0] : null;
  await videoSender.replaceTrack(track);
}

ui.camera.addEventListener("click", async () => {
  if (camera) {
    for (const track of camera.getTracks()) track.stop();
    camera = null;
  } else {
    try {
      camera = await navigator.mediaDevices.getUserMedia({video: {width: 320, height: 240}});
    } catch (err) {
      say(`The camera could not start (${err.name}); the call goes on without it.`);
      return;
    }
  }
  ui.selfView.srcObject = camera;
  ui.selfView.hidden = !camera;
  ui.camera.setAttribute("aria-pressed", String(Boolean(camera)));
  await sendCamera();
});
ui.consent.addEventListener("change", sendCamera);
ui.rejoin.addEventListener("click", () => { attempts = 0; connect().catch(failed); });
document.addEventListener("keydown", () => ui.patient.paused && ui.patient.play().catch(() => {}));
document.addEventListener("click", () => ui.patient.paused && ui.patient.play().catch(() => {}));
document.querySelector(`form[action="/calls/${sessionId}/end"]`)
  .addEventListener("submit", () => {
    if (pc) { pc.onconnectionstatechange = null; pc.close(); }  // no reconnecting now
  });

// For people debugging a call from the console, and for the end-to-end test.
window.simpatientCall = {
  get pc() { return pc; },
  get setupMs() { return setupMs; },
  rejoin: () => connect(),
};

(async () => {
  if (!(await startMicrophone())) return;
  try {
    await connect();
  } catch (err) {
    failed(err);
  }
  setInterval(() => showRoundTrip().catch(() => {}), 1000);
})();
