// The recipients picker of a new message, progressive enhancement only: without this file
// the form offers checkboxes. With it, a combobox (ARIA 1.2 pattern: an input with a
// listbox popup) searches the people and groups the sender may write to through
// /api/v1/contacts (the server decides who is offered) and keeps the chosen ones as
// removable chips carrying the same form fields the checkboxes send.
"use strict";
(function () {
  var picker = document.querySelector("[data-picker]");
  if (!picker || !window.fetch) { return; }
  var form = picker.closest("form");
  var input = picker.querySelector("[role=combobox]");
  var list = picker.querySelector("[role=listbox]");
  var chosen = picker.querySelector(".chosen");
  var status = picker.querySelector("[data-picker-status]");
  var groupsToo = picker.dataset.groups === "1";
  var shown = 12;
  var options = [];
  var active = -1;
  var timer = null;
  var asked = 0;

  function has(name, value) {
    return !!chosen.querySelector("input[name='" + name + "'][value='" + value + "']");
  }

  function choose(option, quiet) {
    if (!has(option.name, option.value)) {
      var item = document.createElement("li");
      var hidden = document.createElement("input");
      hidden.type = "hidden"; hidden.name = option.name; hidden.value = option.value;
      var label = document.createElement("span");
      label.textContent = option.label;
      var remove = document.createElement("button");
      remove.type = "button"; remove.className = "link";
      remove.textContent = "×";
      remove.setAttribute("aria-label", picker.dataset.remove.replace("{name}", option.label));
      remove.addEventListener("click", function () { item.remove(); input.focus(); });
      item.append(hidden, label, remove);
      chosen.append(item);
    }
    if (quiet) { return; }
    status.textContent = option.label;
    input.value = "";
    close();
    input.focus();
  }

  function close() {
    list.hidden = true; list.textContent = ""; options = []; active = -1;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function highlight(index) {
    if (!options.length) { return; }
    active = (index + options.length) % options.length;
    var items = list.children;
    for (var i = 0; i < items.length; i++) { items[i].setAttribute("aria-selected", String(i === active)); }
    input.setAttribute("aria-activedescendant", items[active].id);
    items[active].scrollIntoView({ block: "nearest" });
  }

  function show(found) {
    list.textContent = "";
    options = found.slice(0, shown);
    active = -1;
    options.forEach(function (option, index) {
      var item = document.createElement("li");
      item.id = "recipient-option-" + index;
      item.setAttribute("role", "option");
      item.setAttribute("aria-selected", "false");
      item.textContent = option.label;
      item.addEventListener("mousedown", function (event) { event.preventDefault(); });
      item.addEventListener("click", function () { choose(option); });
      list.append(item);
    });
    if (!options.length) {
      var none = document.createElement("li");
      none.className = "none"; none.textContent = picker.dataset.none;
      list.append(none);
    }
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    status.textContent = options.length ? String(options.length) : picker.dataset.none;
  }

  function search() {
    var query = input.value.trim();
    if (!query) { close(); return; }
    var number = ++asked;
    fetch("/api/v1/contacts?q=" + encodeURIComponent(query.slice(0, 100)), {
      credentials: "same-origin", headers: { "Accept": "application/json" }
    }).then(function (response) { return response.ok ? response.json() : null; })
      .then(function (contacts) {
        if (!contacts || number !== asked) { return; }
        var found = [];
        contacts.people.concat(contacts.classmates).forEach(function (person) {
          found.push({ name: "person_ids", value: String(person.id), label: person.name });
        });
        if (groupsToo) {
          contacts.groups.forEach(function (group) {
            found.push({ name: "group_ids", value: String(group.id), label: picker.dataset.pupilsOf.replace("{name}", group.name) });
            found.push({ name: "parents_of_group_ids", value: String(group.id), label: picker.dataset.parentsOf.replace("{name}", group.name) });
          });
        }
        show(found.filter(function (option) { return !has(option.name, option.value); }));
      }).catch(function () { /* offline: the chips already chosen stay */ });
  }

  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(search, 200);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown") { event.preventDefault(); if (list.hidden) { search(); } else { highlight(active + 1); } }
    else if (event.key === "ArrowUp") { event.preventDefault(); highlight(active - 1); }
    else if (event.key === "Enter") {
      if (!list.hidden && active >= 0) { event.preventDefault(); choose(options[active]); }
      else if (!list.hidden) { event.preventDefault(); }
    } else if (event.key === "Escape") { close(); }
  });
  input.addEventListener("blur", function () { window.setTimeout(close, 150); });

  // Take over from the checkboxes: what they had checked becomes chips, then they go.
  document.querySelectorAll("[data-picker-fallback]").forEach(function (fallback) {
    fallback.querySelectorAll("input[type=checkbox]:checked").forEach(function (box) {
      var label = box.dataset.name || box.parentElement.textContent.trim();
      if (box.name === "group_ids" || box.name === "parents_of_group_ids" || box.name === "person_ids") {
        choose({ name: box.name, value: box.value, label: label }, true);
      }
    });
    fallback.remove();
  });
  var plainSearch = document.querySelector("form[role=search][action='/messages/new']");
  if (plainSearch) { plainSearch.remove(); }
  picker.hidden = false;
  if (form) { form.addEventListener("submit", close); }
})();
