// A video lesson recorded in the browser (MediaRecorder): the camera and microphone of
// this device, nothing sent before the teacher chooses to. The recording goes to the same
// form as an uploaded file, with one Idempotency-Key per recording, so a retry after a
// lost connection never makes two lessons. Without MediaRecorder the section stays hidden.
(() => {
  "use strict";
  const box = document.getElementById("recorder");
  if (!box || !window.MediaRecorder || !navigator.mediaDevices?.getUserMedia) return;
  box.hidden = false;
  const preview = document.getElementById("recorder-preview");
  const status = document.getElementById("recorder-status");
  const [start, stop, send] = ["start", "stop", "send"].map(
    (name) => document.getElementById(`recorder-${name}`));
  const type = ["video/webm;codecs=vp8,opus", "video/webm", "video/mp4"]
    .find((candidate) => MediaRecorder.isTypeSupported(candidate)) || "";
  let recorder = null;
  let recording = null;  // { blob, key } once stopped
  const say = (text) => { status.textContent = text; };

  start.addEventListener("click", async () => {
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: 1280 }, height: { ideal: 720 } }, audio: true,
      });
    } catch {
      say(box.dataset.denied);
      return;
    }
    const chunks = [];
    recording = null;
    preview.srcObject = stream;
    preview.hidden = false;
    preview.play().catch(() => {});
    recorder = new MediaRecorder(stream, type ? { mimeType: type, videoBitsPerSecond: 1500000 } : {});
    recorder.ondataavailable = (event) => { if (event.data.size) chunks.push(event.data); };
    recorder.onstop = () => {
      stream.getTracks().forEach((track) => track.stop());
      preview.srcObject = null;
      preview.hidden = true;
      const blob = new Blob(chunks, { type: recorder.mimeType || "video/webm" });
      recording = { blob, key: crypto.randomUUID() };
      send.disabled = false;
      say(box.dataset.ready.replace("{size}", (blob.size / 1e6).toLocaleString(document.documentElement.lang, { maximumFractionDigits: 1 })));
      send.focus();
    };
    recorder.start(1000);
    start.disabled = true;
    stop.disabled = false;
    send.disabled = true;
    say(box.dataset.recording);
    stop.focus();
  });

  stop.addEventListener("click", () => {
    if (recorder && recorder.state !== "inactive") recorder.stop();
    stop.disabled = true;
    start.disabled = false;
  });

  send.addEventListener("click", async () => {
    if (!recording) return;
    const form = new FormData();
    form.append("csrf_token", box.dataset.csrf);
    const name = recording.blob.type.includes("mp4") ? "lecon.mp4" : "lecon.webm";
    form.append("file", recording.blob, name);
    send.disabled = true;
    say(box.dataset.sending);
    try {
      const answer = await fetch(box.dataset.action, {
        method: "POST", body: form, credentials: "same-origin",
        headers: { "idempotency-key": recording.key },
      });
      if (answer.ok && answer.redirected) {
        location.assign(answer.url);
        return;
      }
      // Refused: the page the server answered carries the sentence.
      const page = new DOMParser().parseFromString(await answer.text(), "text/html");
      say(page.getElementById("form-error")?.textContent.trim() || box.dataset.failed);
    } catch {
      say(box.dataset.failed);
    }
    send.disabled = false;
  });
})();
