// The virtual class page. Préau gives tokens and the node (POST …/join); janus.js (from
// Debian's libjs-janus-gateway) talks to that node. When the node is lost, the page asks
// Préau again, which has moved the room to another node, and rejoins by itself.
// Weak networks: TURN servers come with the join (credentials minted by Préau); a person
// may receive sound only ("audio only") and a pupil may send nothing ("listen only");
// the teacher's video is simulcast and each pupil receives the layer its measured
// bandwidth carries (docs/virtual-classes.md).
"use strict";
(function () {
  var root = document.getElementById("classroom");
  if (!root) { return; }
  var roomId = root.dataset.room, role = root.dataset.role, csrf = root.dataset.csrf;
  var statusLine = document.getElementById("status");
  var remote = document.getElementById("remote");
  var state = { generation: 0, janus: null, node: null, publisher: null, screen: null,
                subscribers: {}, speaking: false, muted: false, grant: null,
                mode: { audioOnly: false, listenOnly: false, why: "default", kbps: null },
                substream: 2, recording: null };
  window.preauClassroom = state; // read by the end-to-end test (getStats), harmless otherwise

  function say(key) { statusLine.textContent = root.dataset["label" + key] || key; }

  // -- Modes: what this browser sends and receives, and why ----------------------------
  var modeLine = document.getElementById("mode");
  var audioBox = document.getElementById("audio-only"), listenBox = document.getElementById("listen-only");
  var LAYERS = ["Low", "Medium", "High"];
  function fill(text, values) {
    return String(text || "").replace(/\{(\w+)\}/g, function (all, name) {
      return values[name] === undefined ? all : values[name];
    });
  }
  function showMode() {
    var mode = state.mode, key = mode.listenOnly ? (mode.audioOnly ? "ListenAudio" : "Listen")
      : (mode.audioOnly ? "Audio" : "Full");
    var parts = [root.dataset["labelMode" + (role === "teacher" ? "Teacher" + key : key)]];
    if (mode.why === "chosen") { parts.push(root.dataset.labelWhyChosen); }
    if (mode.why === "bandwidth") { parts.push(fill(root.dataset.labelWhyBandwidth, { kbps: mode.kbps })); }
    if (!mode.audioOnly && role !== "teacher") {
      parts.push(fill(root.dataset.labelLayer, { layer: root.dataset["labelLayer" + LAYERS[state.substream]] }));
    }
    if (modeLine) { modeLine.textContent = parts.filter(Boolean).join(" "); }
    if (audioBox) { audioBox.checked = mode.audioOnly; }
    if (listenBox) { listenBox.checked = mode.listenOnly; }
    root.dataset.mode = key.toLowerCase();
  }
  function readChosenMode() {
    var asked = new URLSearchParams(window.location.search).get("mode"), kept = null;
    try { kept = window.localStorage.getItem("preau.virtual.mode"); } catch (e) { /* private mode */ }
    var chosen = asked || kept;
    if (!chosen) { return false; }
    state.mode.audioOnly = chosen === "audio" || chosen === "listen-audio";
    state.mode.listenOnly = role !== "teacher" && (chosen === "listen" || chosen === "listen-audio");
    state.mode.why = chosen === "full" ? "default" : "chosen";
    return true;
  }
  function keepMode() {
    var mode = state.mode, name = mode.listenOnly ? (mode.audioOnly ? "listen-audio" : "listen")
      : (mode.audioOnly ? "audio" : "full");
    try { window.localStorage.setItem("preau.virtual.mode", name); } catch (e) { /* private mode */ }
  }
  function layerFor(kbps) { return kbps >= 1200 ? 2 : (kbps >= 500 ? 1 : 0); }
  // Downloads a fixed amount from Préau and times it: a rough figure, taken once per page,
  // enough to tell a 1 Mbit/s line from a good one before any media flows.
  function measureBandwidth() {
    var started = performance.now();
    return fetch("/virtual/probe?" + Math.random(), { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.arrayBuffer(); })
      .then(function (body) {
        var seconds = Math.max((performance.now() - started) / 1000, 0.001);
        return Math.round(body.byteLength * 8 / seconds / 1000);
      });
  }

  function api(path, body, key) {
    var headers = { "content-type": "application/json", "x-csrf-token": csrf };
    if (key) { headers["idempotency-key"] = key; }
    return fetch("/api/v1/virtual/rooms/" + roomId + path, {
      method: body === undefined ? "GET" : "POST",
      credentials: "same-origin",
      headers: headers,
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
        iceServers: (grant.ice_servers || []).map(function (server) {
          return { urls: server.urls, username: server.username, credential: server.credential };
        }),
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
          if (role === "teacher") { publish(state.mode.audioOnly ? ["audio"] : ["audio", "video"]); }
          if (state.speaking && !state.mode.listenOnly) { publish(["audio"]); }
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
    // The teacher's camera is simulcast: each pupil gets the layer its bandwidth carries.
    var tracks = kinds.map(function (kind) {
      return { type: kind, capture: true, recv: false, simulcast: kind === "video" && role === "teacher" };
    });
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

  // Audio only: subscribe to the feed's audio streams and nothing else; otherwise all of
  // them, the video at the chosen simulcast layer.
  function wantedStreams(feed) {
    var streams = (feed.streams || []).filter(function (stream) {
      return !stream.disabled && (!state.mode.audioOnly || stream.type === "audio");
    }).map(function (stream) {
      var wanted = { feed: feed.id, mid: stream.mid };
      if (stream.type === "video") { wanted.substream = state.substream; wanted.temporal = 2; }
      return wanted;
    });
    return streams.length ? streams : [{ feed: feed.id }];
  }

  function subscribe(feed, generation) {
    if (state.mode.audioOnly && !(feed.streams || []).some(function (s) { return s.type === "audio"; })) {
      return; // a screen share, for instance: nothing to hear
    }
    if (!wanted(feed) || state.subscribers[feed.id] || generation !== state.generation) { return; }
    var grant = state.grant, handlers = watch(null, generation);
    state.janus.attach({
      plugin: "janus.plugin.videoroom",
      success: function (handle) {
        state.subscribers[feed.id] = handle;
        handle.send({ message: { request: "join", ptype: "subscriber", room: grant.janus_room,
                                 streams: wantedStreams(feed), token: grant.room_token } });
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
      if (floor.may_speak && state.mode.listenOnly) {
        say("ListenOnlyFloor"); // the teacher gave the floor, but this pupil sends nothing
      } else if (floor.may_speak && !state.speaking && state.publisher) {
        state.speaking = true; publish(["audio"]); say("MaySpeak");
      } else if (!floor.may_speak && state.speaking && state.publisher) {
        state.speaking = false; state.publisher.send({ message: { request: "unpublish" } });
      }
    }).catch(function () { /* next round */ });
  }

  // During the class: when more than 5 % of the teacher's video packets are lost over a
  // few seconds, ask Janus for the next lower simulcast layer (never back up by itself:
  // a pupil whose line recovered may reload or untick a mode).
  function watchLayers() {
    if (state.mode.audioOnly || state.substream === 0) { return; }
    Object.keys(state.subscribers).forEach(function (id) {
      var handle = state.subscribers[id], pc = handle.webrtcStuff && handle.webrtcStuff.pc;
      if (!pc) { return; }
      pc.getStats().then(function (reports) {
        reports.forEach(function (report) {
          if (report.type !== "inbound-rtp" || report.kind !== "video") { return; }
          var last = handle.preauLast || { lost: 0, received: 0 };
          var lost = (report.packetsLost || 0) - last.lost;
          var received = (report.packetsReceived || 0) - last.received;
          handle.preauLast = { lost: report.packetsLost || 0, received: report.packetsReceived || 0 };
          if (received > 0 && lost / (lost + received) > 0.05 && state.substream > 0) {
            state.substream -= 1;
            handle.send({ message: { request: "configure",
                                     streams: [{ mid: report.mid, substream: state.substream }] } });
            showMode();
          }
        });
      }).catch(function () { /* closed meanwhile */ });
    });
  }

  // Changing mode reconnects with the new choice (simplest and always right).
  function choose() {
    state.mode.audioOnly = Boolean(audioBox && audioBox.checked);
    state.mode.listenOnly = Boolean(listenBox && listenBox.checked);
    state.mode.why = state.mode.audioOnly || state.mode.listenOnly ? "chosen" : "default";
    keepMode(); showMode();
    if (state.janus) { reconnect(state.generation); }
  }
  if (audioBox) { audioBox.addEventListener("change", choose); }
  if (listenBox) { listenBox.addEventListener("change", choose); }

  // Recording (the teacher): Préau asks Janus to record, then makes a video lesson of it.
  var record = document.getElementById("record"), recordLine = document.getElementById("recording");
  function showRecording(view) {
    if (!record || !view) { return; }
    state.recording = view;
    record.setAttribute("aria-pressed", String(view.state === "recording"));
    record.textContent = root.dataset[view.state === "recording" ? "labelRecordStop" : "labelRecordStart"];
    record.disabled = view.state === "processing";
    recordLine.textContent = view.state === "none" ? "" :
      (root.dataset["labelRecording" + view.state.charAt(0).toUpperCase() + view.state.slice(1)] || view.state) +
      (view.error ? " " + view.error : "");
    var link = document.getElementById("replay");
    if (link) { link.hidden = !view.homework_id; if (view.homework_id) { link.href = "/homework/" + view.homework_id; } }
  }
  function refreshRecording() {
    api("/recording").then(function (r) { return r.ok ? r.json() : null; }).then(showRecording)
      .catch(function () { /* next round */ });
  }
  if (record) {
    record.addEventListener("click", function () {
      var on = !(state.recording && state.recording.state === "recording");
      record.disabled = true;
      api("/recording", { recording: on }, "record-" + Date.now() + "-" + Math.random()).then(function (r) {
        return r.json().then(function (body) { return { ok: r.ok, body: body }; });
      }).then(function (answer) {
        record.disabled = false;
        if (answer.ok) { showRecording(answer.body); } else { recordLine.textContent = answer.body.detail || ""; }
      }).catch(function () { record.disabled = false; });
    });
  }

  function start() {
    if (typeof Janus === "undefined") { say("NoJanus"); return; }
    var chosen = readChosenMode();
    showMode();
    var measured = role === "teacher" ? Promise.resolve(null) : measureBandwidth().catch(function () { return null; });
    measured.then(function (kbps) {
      if (kbps !== null) {
        state.mode.kbps = kbps; state.substream = layerFor(kbps);
        if (!chosen && kbps < 250) { state.mode.audioOnly = true; state.mode.why = "bandwidth"; }
        root.dataset.kbps = String(kbps);
      }
      showMode();
      Janus.init({
        debug: false,
        dependencies: Janus.useDefaultDependencies({ adapter: { browserDetails: browserDetails() } }),
        callback: connect
      });
    });
    if (record) { refreshRecording(); window.setInterval(refreshRecording, 3000); }
    if (list) { refreshParticipants(); window.setInterval(refreshParticipants, 3000); }
    if (role === "pupil") { window.setInterval(refreshFloor, 3000); }
    if (role !== "teacher") { window.setInterval(watchLayers, 5000); }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); }
  else { start(); }
})();
