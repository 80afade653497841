// Video lessons: start where the pupil stopped, and tell the server what was played
// (every 15 s, on pause, before a seek and when leaving), so the teacher sees who watched
// how much. A seek never counts the part jumped over.
(() => {
  "use strict";
  const video = document.getElementById("lesson");
  if (!video) return;
  const resume = Number(video.dataset.position || 0);
  let from = null;  // where the stretch being played started
  let reached = 0;  // the last time played before any seek
  video.addEventListener("loadedmetadata", () => {
    if (resume > 5 && resume < video.duration - 5) video.currentTime = resume;
  }, { once: true });
  const send = (keepalive) => {
    if (from === null) return;
    const body = JSON.stringify({
      position_s: reached, from_s: Math.min(from, reached), to_s: reached,
    });
    from = null;
    fetch(video.dataset.progress, {
      method: "PUT", body, keepalive, credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrf-token": video.dataset.csrf },
    }).catch(() => {});  // offline: the next report covers it
  };
  video.addEventListener("timeupdate", () => {
    if (video.seeking) return;
    if (from === null && !video.paused) from = video.currentTime;
    reached = video.currentTime;
  });
  video.addEventListener("seeking", () => send(false));
  video.addEventListener("pause", () => send(false));
  video.addEventListener("ended", () => send(false));
  setInterval(() => { if (!video.paused) { send(false); from = video.currentTime; } }, 15000);
  addEventListener("pagehide", () => send(true));
})();
