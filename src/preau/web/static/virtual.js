// The virtual class page. Préau gives tokens and the node (POST …/join); janus.js (from
// Debian's libjs-janus-gateway) talks to that node. When the node is lost, the page asks
// Préau again, which has moved the room to another node, and rejoins by itself.
"use strict";
(function () {
  var root = document.getElementById("classroom");
  if (!root) { return; }
  var roomId = root.dataset.room, role = root.dataset.role, csrf = root.dataset.csrf;
  var statusLine = document.getElementById("status");
  var remote = document.getElementById("remote");
  var state = { generation: 0, janus: null, node: null, publisher: null, screen: null,
                subscribers: {}, speaking: false, muted: false, grant: null };
  window.preauClassroom = state; // read by the end-to-end test (getStats), harmless otherwise

  function say(key) { statusLine.textContent = root.dataset["label" + key] || key; }

  function api(path, body) {
    return fetch("/api/v1/virtual/rooms/" + roomId + path, {
      method: body === undefined ? "GET" : "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrf-token": csrf },
      body: body === undefined ? undefined : JSON.stringify(body)
    });
  }

  function browserDetails() {
    var agent = navigator.userAgent, found = /Chrom(e|ium)\/(\d+)/.exec(agent);
    if (found) { return { browser: "chrome", version: parseInt(found[2], 10) }; }
    found = /Firefox\/(\d+)/.exec(agent);
    if (found) { return { browser: "firefox", version: parseInt(found[1], 10) }; }
    found = /Version\/(\d+).*Safari/.exec(agent);
    return { browser: found ? "safari" : "unknown", version: found ? 605 : 0 };
  }

  function reconnect(generation) {
    if (generation !== state.generation) { return; } // an older connection failing late
    state.generation += 1;
    say("Reconnecting");
    var old = state.janus;
    state.janus = null; state.publisher = null; state.screen = null; state.subscribers = {};
    remote.textContent = "";
    if (old) { try { old.destroy({ notifyDestroyed: false, cleanupHandles: true }); } catch (e) { /* gone */ } }
    window.setTimeout(connect, 1000);
  }

  function connect() {
    var generation = state.generation;
    say("Connecting");
    api("/join", {}).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (answer) {
      if (generation !== state.generation) { return; }
      if (!answer.ok) {
        statusLine.textContent = answer.body.detail || "";
        if (answer.body.status >= 500 || answer.body.status === 409) {
          window.setTimeout(function () { if (generation === state.generation) { connect(); } }, 3000);
        }
        return;
      }
      var grant = answer.body;
      state.grant = grant; state.node = grant.node;
      state.janus = new Janus({
        server: grant.janus_url,
        token: grant.core_token,
        success: function () { joinRoom(grant, generation); },
        error: function () { reconnect(generation); },
        destroyed: function () { /* on purpose */ }
      });
    }).catch(function () {
      window.setTimeout(function () { if (generation === state.generation) { connect(); } }, 2000);
    });
  }

  function watch(handle, generation) {
    return {
      iceState: function (ice) { if (ice === "failed") { reconnect(generation); } },
      webrtcState: function (up) { if (!up) { reconnect(generation); } },
      error: function () { reconnect(generation); }
    };
  }

  function joinRoom(grant, generation) {
    var handlers = watch(null, generation);
    state.janus.attach({
      plugin: "janus.plugin.videoroom",
      success: function (handle) {
        state.publisher = handle;
        handle.send({ message: { request: "join", ptype: "publisher", room: grant.janus_room,
                                 display: grant.display, token: grant.room_token } });
      },
      error: handlers.error,
      iceState: handlers.iceState,
      webrtcState: handlers.webrtcState,
      onmessage: function (message, jsep) {
        if (generation !== state.generation) { return; }
        if (message.videoroom === "joined") {
          say("Connected");
          if (role === "teacher") { publish(["audio", "video"]); }
          if (state.speaking) { publish(["audio"]); }
        }
        (message.publishers || []).forEach(function (feed) { subscribe(feed, generation); });
        var gone = message.leaving || message.unpublished;
        if (gone && state.subscribers[gone]) {
          state.subscribers[gone].detach();
          delete state.subscribers[gone];
          var video = document.getElementById("feed-" + gone);
          if (video) { video.remove(); }
        }
        if (jsep) { state.publisher.handleRemoteJsep({ jsep: jsep }); }
      },
      onlocaltrack: function (track, on) {
        if (track.kind !== "video") { return; }
        var local = document.getElementById("local");
        if (on) { local.srcObject = new MediaStream([track]); local.hidden = false; }
        else { local.hidden = true; }
      },
      onremotetrack: function () { /* publishers receive nothing */ },
      oncleanup: function () { /* republished on the next join */ }
    });
  }

  function publish(kinds) {
    var tracks = kinds.map(function (kind) { return { type: kind, capture: true, recv: false }; });
    state.publisher.createOffer({
      tracks: tracks,
      success: function (jsep) {
        state.publisher.send({ message: { request: "configure", audio: true,
                                          video: kinds.indexOf("video") >= 0 }, jsep: jsep });
      },
      error: function (error) { statusLine.textContent = String(error && error.message || error); }
    });
  }

  function wanted(feed) {
    var kind = String(feed.display || "").split(":")[0];
    return kind === "teacher" || kind === "screen" || kind === "pupil" || kind === "guest";
  }

  function subscribe(feed, generation) {
    if (!wanted(feed) || state.subscribers[feed.id] || generation !== state.generation) { return; }
    var grant = state.grant, handlers = watch(null, generation);
    state.janus.attach({
      plugin: "janus.plugin.videoroom",
      success: function (handle) {
        state.subscribers[feed.id] = handle;
        handle.send({ message: { request: "join", ptype: "subscriber", room: grant.janus_room,
                                 streams: [{ feed: feed.id }], token: grant.room_token } });
      },
      error: handlers.error,
      iceState: handlers.iceState,
      onmessage: function (message, jsep) {
        var handle = state.subscribers[feed.id];
        if (!jsep || !handle) { return; }
        handle.createAnswer({
          jsep: jsep,
          tracks: [{ type: "data" }],
          success: function (answer) {
            handle.send({ message: { request: "start", room: grant.janus_room }, jsep: answer });
          },
          error: function () { reconnect(generation); }
        });
      },
      onremotetrack: function (track, mid, on) {
        var id = "feed-" + feed.id + "-" + mid, element = document.getElementById(id);
        if (!on) { if (element) { element.remove(); } return; }
        if (!element) {
          element = document.createElement(track.kind === "video" ? "video" : "audio");
          element.id = id; element.autoplay = true; element.playsInline = true;
          remote.appendChild(element);
        }
        element.srcObject = new MediaStream([track]);
      }
    });
  }

  // The teacher: microphone, screen, and who is there.
  var mute = document.getElementById("mute");
  if (mute) {
    mute.addEventListener("click", function () {
      if (!state.publisher) { return; }
      state.muted = !state.muted;
      if (state.muted) { state.publisher.muteAudio(); } else { state.publisher.unmuteAudio(); }
      mute.setAttribute("aria-pressed", String(state.muted));
    });
  }
  var screen = document.getElementById("screen");
  if (screen) {
    screen.addEventListener("click", function () {
      var grant = state.grant, generation = state.generation;
      if (!state.janus || state.screen) { return; }
      state.janus.attach({
        plugin: "janus.plugin.videoroom",
        success: function (handle) {
          state.screen = handle;
          handle.send({ message: { request: "join", ptype: "publisher", room: grant.janus_room,
                                   display: "screen" + grant.display.slice(grant.display.indexOf(":")),
                                   token: grant.room_token } });
        },
        onmessage: function (message, jsep) {
          if (message.videoroom === "joined") {
            state.screen.createOffer({
              tracks: [{ type: "screen", capture: true, recv: false }],
              success: function (offer) {
                state.screen.send({ message: { request: "configure", video: true }, jsep: offer });
              },
              error: function () { state.screen.detach(); state.screen = null; }
            });
          }
          if (jsep) { state.screen.handleRemoteJsep({ jsep: jsep }); }
        },
        error: function () { reconnect(generation); }
      });
    });
  }
  var list = document.getElementById("participants");
  function refreshParticipants() {
    api("/participants").then(function (r) { return r.ok ? r.json() : []; }).then(function (people) {
      list.textContent = "";
      people.forEach(function (person) {
        var item = document.createElement("li");
        item.className = person.present ? "present" : "absent";
        item.textContent = person.name + " — " +
          root.dataset[person.present ? "labelPresent" : "labelAbsent"] +
          (person.hand_raised ? " · ✋ " + root.dataset.labelHand : "");
        if (person.role === "pupil") {
          var button = document.createElement("button");
          button.type = "button";
          button.textContent = root.dataset[person.may_speak ? "labelStop" : "labelAllow"];
          button.addEventListener("click", function () {
            api("/floor", { person_id: person.person_id, allowed: !person.may_speak })
              .then(refreshParticipants);
          });
          item.appendChild(document.createTextNode(" "));
          item.appendChild(button);
        }
        list.appendChild(item);
      });
    }).catch(function () { /* next round */ });
  }

  // A pupil: the hand, and speaking once the teacher allows it.
  var hand = document.getElementById("hand");
  if (hand) {
    hand.addEventListener("click", function () {
      var raised = hand.getAttribute("aria-pressed") !== "true";
      api("/hand", { raised: raised }).then(function (r) { return r.json(); }).then(function (floor) {
        hand.setAttribute("aria-pressed", String(floor.hand_raised));
      });
    });
  }
  function refreshFloor() {
    api("/floor").then(function (r) { return r.ok ? r.json() : null; }).then(function (floor) {
      if (!floor) { return; }
      if (hand) { hand.setAttribute("aria-pressed", String(floor.hand_raised)); }
      if (floor.may_speak && !state.speaking && state.publisher) {
        state.speaking = true; publish(["audio"]); say("MaySpeak");
      } else if (!floor.may_speak && state.speaking && state.publisher) {
        state.speaking = false; state.publisher.send({ message: { request: "unpublish" } });
      }
    }).catch(function () { /* next round */ });
  }

  function start() {
    if (typeof Janus === "undefined") { say("NoJanus"); return; }
    Janus.init({
      debug: false,
      dependencies: Janus.useDefaultDependencies({ adapter: { browserDetails: browserDetails() } }),
      callback: connect
    });
    if (list) { refreshParticipants(); window.setInterval(refreshParticipants, 3000); }
    if (role === "pupil") { window.setInterval(refreshFloor, 3000); }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); }
  else { start(); }
})();
