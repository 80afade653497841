// Inside a virtual class: the chat, the poll, the shared whiteboard, breakout groups and
// who stayed how long. Préau's live stream (/live/virtual/rooms/{id}) brings what others
// do; a page that falls behind gets "resync" and reads the state again. The video itself
// is virtual.js's.
"use strict";
(function () {
  var root = document.getElementById("room-tools");
  if (!root) { return; }
  var roomId = root.dataset.room, role = root.dataset.role, csrf = root.dataset.csrf;
  var teaching = role === "teacher";
  var labels = root.dataset;
  var statusLine = document.getElementById("tools-status");
  var main = new URLSearchParams(window.location.search).get("main");
  if (main && !/^[1-9][0-9]{0,9}$/.test(main)) { main = null; }
  var me = { muted: false };
  var tools = { stream: null, strokes: [], poll: null, board: null };
  window.preauRoomTools = tools; // read by the end-to-end test, harmless otherwise

  function say(text) { statusLine.textContent = text || ""; }
  function key() {
    return window.crypto && window.crypto.randomUUID ? window.crypto.randomUUID()
      : String(Date.now()) + "-" + String(Math.random()).slice(2);
  }
  function api(path, method, body, raw) {
    var headers = { "x-csrf-token": csrf };
    if (method !== "GET") { headers["idempotency-key"] = key(); }
    if (body !== undefined && !raw) { headers["content-type"] = "application/json"; }
    return fetch("/api/v1/virtual/rooms/" + roomId + path, {
      method: method, credentials: "same-origin", headers: headers,
      body: body === undefined ? undefined : (raw ? body : JSON.stringify(body))
    }).then(function (response) {
      if (response.status === 204) { return null; }
      return response.json().then(function (data) {
        if (!response.ok) { say(data.detail || data.title || ""); throw new Error("refused"); }
        return data;
      });
    });
  }
  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function clock(value) {
    return value ? new Date(value).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "";
  }

  // -- chat --------------------------------------------------------------------------
  var chatLog = document.getElementById("chat-log");
  var chatForm = document.getElementById("chat-form");
  var chatBody = document.getElementById("chat-body");
  var chatPrivate = document.getElementById("chat-private");

  function showMessage(message) {
    var item = document.getElementById("chat-" + message.id);
    if (!item) {
      item = element("li", "chat-message");
      item.id = "chat-" + message.id;
      chatLog.appendChild(item);
    }
    item.textContent = "";
    item.classList.toggle("private", message.to_teacher);
    var head = element("p", "chat-head");
    head.appendChild(element("strong", "", message.author));
    head.appendChild(document.createTextNode(" · " + clock(message.created_at)));
    if (message.to_teacher) { head.appendChild(element("span", "chat-tag", labels.labelPrivate)); }
    item.appendChild(head);
    if (message.deleted) {
      item.classList.add("deleted");
      item.appendChild(element("p", "muted", labels.labelDeleted));
    } else {
      item.appendChild(element("p", "chat-text", message.body));
      if (teaching) {
        var remove = element("button", "small", labels.labelDelete);
        remove.type = "button";
        remove.addEventListener("click", function () {
          api("/chat/" + message.id, "DELETE").catch(function () { /* said */ });
        });
        item.appendChild(remove);
        if (message.author_id !== Number(root.dataset.me || 0)) {
          var muting = element("button", "small", labels.labelMute);
          muting.type = "button";
          muting.addEventListener("click", function () {
            api("/mute", "POST", { person_id: message.author_id, muted: true }).catch(function () { /* said */ });
          });
          item.appendChild(muting);
        }
      }
    }
    chatLog.scrollTop = chatLog.scrollHeight;
  }
  function loadChat() {
    return api("/chat", "GET").then(function (messages) {
      chatLog.textContent = "";
      messages.forEach(showMessage);
    });
  }
  chatForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = chatBody.value.trim();
    if (!text) { return; }
    api("/chat", "POST", { body: text, to_teacher: !!(chatPrivate && chatPrivate.checked) })
      .then(function (message) { chatBody.value = ""; say(""); showMessage(message); })
      .catch(function () { /* said */ });
  });
  chatBody.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); chatForm.requestSubmit(); }
  });

  // -- poll --------------------------------------------------------------------------
  var pollView = document.getElementById("poll-view");
  var pollForm = document.getElementById("poll-form");

  function showPoll(poll) {
    if (!poll) { return; }
    if (tools.poll && tools.poll.id === poll.id && poll.my_choice === null && tools.poll.my_choice !== null) {
      poll.my_choice = tools.poll.my_choice; // an event never carries anyone's own choice
    }
    tools.poll = poll;
    pollView.textContent = "";
    pollView.appendChild(element("p", "poll-question", poll.question));
    var list = element("ul", "poll-choices");
    var total = poll.counts ? poll.counts.reduce(function (a, b) { return a + b; }, 0) : 0;
    poll.choices.forEach(function (choice, index) {
      var item = element("li");
      if (!teaching && !poll.closed) {
        var pick = element("button", poll.my_choice === index ? "chosen" : "", choice);
        pick.type = "button";
        pick.setAttribute("aria-pressed", poll.my_choice === index ? "true" : "false");
        pick.addEventListener("click", function () {
          api("/polls/" + poll.id + "/answer", "POST", { choice: index })
            .then(function (answer) { showPoll(answer); say(labels.labelYourAnswer); })
            .catch(function () { /* said */ });
        });
        item.appendChild(pick);
      } else {
        item.appendChild(element("span", poll.my_choice === index ? "chosen" : "", choice));
      }
      if (poll.counts) {
        var count = poll.counts[index];
        var bar = element("span", "poll-bar");
        bar.style.width = (total ? Math.round(100 * count / total) : 0) + "%";
        item.appendChild(element("span", "poll-count", " " + count));
        item.appendChild(bar);
      }
      list.appendChild(item);
    });
    pollView.appendChild(list);
    if (poll.counts) { pollView.appendChild(element("p", "muted", total + " " + labels.labelAnswers)); }
    if (poll.closed) { pollView.appendChild(element("p", "muted", labels.labelClosed)); }
    if (teaching) {
      var reveal = element("button", "", poll.results_shown ? labels.labelHide : labels.labelShow);
      reveal.type = "button"; reveal.id = "poll-reveal";
      reveal.addEventListener("click", function () {
        api("/polls/" + poll.id + "/results", "POST", { shown: !poll.results_shown }).then(showPoll).catch(function () { /* said */ });
      });
      pollView.appendChild(reveal);
      if (!poll.closed) {
        var close = element("button", "", labels.labelClose);
        close.type = "button";
        close.addEventListener("click", function () {
          api("/polls/" + poll.id + "/results", "POST", { shown: poll.results_shown, close: true }).then(showPoll).catch(function () { /* said */ });
        });
        pollView.appendChild(close);
      }
    }
  }
  function loadPoll() { return api("/poll", "GET").then(showPoll); }
  if (pollForm) {
    pollForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var choices = Array.prototype.map.call(pollForm.querySelectorAll(".poll-choice"), function (input) { return input.value.trim(); })
        .filter(function (value) { return value; });
      api("/polls", "POST", { question: document.getElementById("poll-question").value, choices: choices })
        .then(function (poll) { pollForm.reset(); document.getElementById("poll-new").open = false; say(""); showPoll(poll); })
        .catch(function () { /* said */ });
    });
  }

  // -- whiteboard --------------------------------------------------------------------
  var canvas = document.getElementById("board-canvas");
  var context = canvas.getContext("2d");
  var image = document.getElementById("board-image");
  var toolPicker = document.getElementById("board-tool");
  var colourPicker = document.getElementById("board-colour");
  var mayDraw = teaching;

  function paint(stroke, target) {
    var ctx = target || context, width = ctx.canvas.width, height = ctx.canvas.height;
    var points = stroke.points.map(function (p) { return [p[0] * width, p[1] * height]; });
    ctx.save();
    ctx.lineCap = "round"; ctx.lineJoin = "round";
    ctx.strokeStyle = stroke.colour; ctx.fillStyle = stroke.colour;
    ctx.lineWidth = stroke.width * width / 800;
    if (stroke.tool === "eraser") { ctx.globalCompositeOperation = "destination-out"; ctx.lineWidth *= 6; }
    if (stroke.tool === "text") {
      ctx.font = Math.round(width / 40) + "px sans-serif";
      ctx.fillText(stroke.text, points[0][0], points[0][1]);
    } else if (stroke.tool === "rect") {
      ctx.strokeRect(points[0][0], points[0][1], points[1][0] - points[0][0], points[1][1] - points[0][1]);
    } else {
      ctx.beginPath();
      ctx.moveTo(points[0][0], points[0][1]);
      points.slice(1).forEach(function (p) { ctx.lineTo(p[0], p[1]); });
      if (points.length === 1) { ctx.lineTo(points[0][0] + 0.1, points[0][1]); }
      ctx.stroke();
    }
    ctx.restore();
  }
  function repaint() {
    context.clearRect(0, 0, canvas.width, canvas.height);
    tools.strokes.forEach(function (item) { paint(item.stroke); });
  }
  function addStroke(item) {
    if (tools.strokes.some(function (known) { return known.id === item.id; })) { return; }
    tools.strokes.push(item);
    paint(item.stroke);
  }
  function showBackground(present) {
    if (present) { image.src = "/virtual/rooms/" + roomId + "/board/background?t=" + Date.now(); image.hidden = false; }
    else { image.hidden = true; }
  }
  function setMayDraw(allowed) {
    mayDraw = teaching || allowed;
    canvas.classList.toggle("drawable", mayDraw);
    toolPicker.disabled = !mayDraw; colourPicker.disabled = !mayDraw;
    var pupils = document.getElementById("board-pupils");
    if (pupils) { pupils.checked = allowed; }
  }
  function loadBoard() {
    return api("/board", "GET").then(function (board) {
      tools.board = board;
      tools.strokes = board.strokes;
      showBackground(board.background);
      setMayDraw(board.pupils_draw);
      repaint();
    });
  }
  function at(event) {
    var box = canvas.getBoundingClientRect();
    var x = (event.clientX - box.left) / box.width, y = (event.clientY - box.top) / box.height;
    return [Math.min(1, Math.max(0, Math.round(x * 10000) / 10000)), Math.min(1, Math.max(0, Math.round(y * 10000) / 10000))];
  }
  var drawing = null;
  function send(stroke) {
    api("/board/strokes", "POST", stroke).then(addStroke).catch(function () { repaint(); });
  }
  canvas.addEventListener("pointerdown", function (event) {
    if (!mayDraw) { return; }
    var tool = toolPicker.value, point = at(event);
    if (tool === "text") {
      var text = window.prompt(labels.labelTextPrompt);
      if (text && text.trim()) { send({ tool: "text", colour: colourPicker.value, width: 3, points: [point], text: text.trim().slice(0, 200) }); }
      return;
    }
    canvas.setPointerCapture(event.pointerId);
    drawing = { tool: tool, colour: colourPicker.value, width: 3, points: [point] };
  });
  canvas.addEventListener("pointermove", function (event) {
    if (!drawing) { return; }
    var point = at(event);
    if (drawing.tool === "pen" || drawing.tool === "eraser") {
      if (drawing.points.length < 500) { drawing.points.push(point); }
      paint({ tool: drawing.tool, colour: drawing.colour, width: drawing.width, points: drawing.points.slice(-2) });
    } else {
      repaint();
      paint({ tool: drawing.tool, colour: drawing.colour, width: drawing.width, points: [drawing.points[0], point] });
      drawing.end = point;
    }
  });
  canvas.addEventListener("pointerup", function (event) {
    if (!drawing) { return; }
    var stroke = drawing; drawing = null;
    if (stroke.tool === "line" || stroke.tool === "rect") { stroke.points = [stroke.points[0], stroke.end || at(event)]; }
    send(stroke);
  });
  if (teaching) {
    document.getElementById("board-clear").addEventListener("click", function () {
      api("/board/strokes", "DELETE").catch(function () { /* said */ });
    });
    document.getElementById("board-pupils").addEventListener("change", function (event) {
      api("/board/drawers", "POST", { pupils_draw: event.target.checked }).catch(function () { /* said */ });
    });
    document.getElementById("board-background").addEventListener("change", function (event) {
      var file = event.target.files[0];
      var page = Math.max(1, Math.min(999, Number(document.getElementById("board-page").value) || 1));
      if (file) { api("/board/background?page=" + page, "POST", file, true).catch(function () { /* said */ }); }
    });
    document.getElementById("board-export").addEventListener("click", function () {
      var copy = document.createElement("canvas");
      copy.width = canvas.width; copy.height = canvas.height;
      var ctx = copy.getContext("2d");
      ctx.fillStyle = "#ffffff"; ctx.fillRect(0, 0, copy.width, copy.height);
      if (!image.hidden && image.complete && image.naturalWidth) { ctx.drawImage(image, 0, 0, copy.width, copy.height); }
      ctx.drawImage(canvas, 0, 0);
      copy.toBlob(function (blob) {
        api("/board/exports", "POST", blob, true).then(function () { say(labels.labelSaved); }).catch(function () { /* said */ });
      }, "image/png");
    });
  }

  // -- breakout groups ---------------------------------------------------------------
  var groupsForm = document.getElementById("groups-form");
  var groupsList = document.getElementById("groups-list");
  var groupsBack = document.getElementById("groups-back");

  function goToGroup(groupRoom) {
    window.location.assign("/virtual/rooms/" + groupRoom + "?main=" + roomId);
  }
  function showGroups(breakouts) {
    if (!teaching) {
      if (breakouts.mine && !main) { goToGroup(breakouts.mine); }
      return;
    }
    groupsList.textContent = "";
    breakouts.groups.forEach(function (group) {
      var item = element("li", "", labels.labelGroup + " " + group.number + " (" + group.members.length + ") ");
      var visit = element("a", "button", labels.labelVisit);
      visit.href = "/virtual/rooms/" + group.room_id + "?main=" + roomId;
      item.appendChild(visit);
      groupsList.appendChild(item);
    });
    groupsBack.hidden = breakouts.groups.length === 0;
  }
  function loadGroups() { return main ? Promise.resolve() : api("/breakouts", "GET").then(showGroups); }
  if (groupsForm) {
    groupsForm.addEventListener("submit", function (event) {
      event.preventDefault();
      api("/breakouts", "POST", { groups: Number(document.getElementById("groups-count").value) })
        .then(showGroups).catch(function () { /* said */ });
    });
    groupsBack.addEventListener("click", function () {
      api("/breakouts", "DELETE").then(function () { showGroups({ groups: [] }); say(labels.labelBack); })
        .catch(function () { /* said */ });
    });
  }
  if (main && teaching) {
    // Visiting a group: the way back to the class, where the groups are ended.
    var back = element("a", "button", labels.labelToClass);
    back.href = "/virtual/rooms/" + main;
    statusLine.parentNode.insertBefore(back, statusLine.nextSibling);
  } else if (main) { say(labels.labelInGroup); }

  // -- who stayed --------------------------------------------------------------------
  var presenceButton = document.getElementById("presence-load");
  if (presenceButton) {
    presenceButton.addEventListener("click", function () {
      api("/presence", "GET").then(function (lines) {
        var table = document.getElementById("presence-table"), body = table.querySelector("tbody");
        body.textContent = "";
        lines.forEach(function (line) {
          var row = element("tr");
          row.appendChild(element("td", "", line.name));
          row.appendChild(element("td", "", line.first_joined_at ? clock(line.first_joined_at) : labels.labelNever));
          row.appendChild(element("td", "", line.first_joined_at && !line.last_left_at ? labels.labelStillHere : clock(line.last_left_at)));
          row.appendChild(element("td", "", Math.round(line.seconds / 60) + " " + labels.labelMinutes));
          body.appendChild(row);
        });
        table.hidden = false;
      }).catch(function () { /* said */ });
    });
  }

  // -- the live stream ---------------------------------------------------------------
  function loadAll() { return Promise.all([loadChat(), loadPoll(), loadBoard(), loadGroups()]).catch(function () { /* said */ }); }
  function listen(id, handlers) {
    if (!window.EventSource) { return null; }
    var source = new EventSource("/live/virtual/rooms/" + id);
    Object.keys(handlers).forEach(function (kind) {
      source.addEventListener(kind, function (event) { handlers[kind](JSON.parse(event.data)); });
    });
    return source;
  }
  tools.stream = listen(roomId, {
    hello: function () {
      // Back after a lost connection: what happened meanwhile is read afresh.
      if (tools.ready) { loadAll(); }
      tools.ready = true;
    },
    resync: loadAll,
    chat: showMessage,
    "chat-deleted": function (data) {
      var item = document.getElementById("chat-" + data.id);
      if (item) { showMessage({ id: data.id, author: item.querySelector("strong").textContent, created_at: null, to_teacher: item.classList.contains("private"), deleted: true }); }
    },
    muted: function (data) { me.muted = data.muted; say(data.muted ? labels.labelMuted : labels.labelUnmuted); },
    poll: function (poll) { say(""); showPoll(poll); },
    results: function (poll) { showPoll(poll); },
    stroke: addStroke,
    clear: function () { tools.strokes = []; repaint(); },
    board: function (data) {
      if (data.pupils_draw !== undefined) { setMayDraw(data.pupils_draw); }
      if (data.background) { showBackground(true); }
    },
    breakout: function (data) { goToGroup(data.room_id); },
    breakouts: showGroups,
    back: function () { say(labels.labelBack); }
  });
  if (main) {
    // In a breakout group: the class's own stream says when everyone comes back.
    tools.mainStream = listen(main, {
      back: function () { window.location.assign("/virtual/rooms/" + main); }
    });
  }
  loadAll();
})();
