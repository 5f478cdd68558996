// "/" anywhere outside a text field puts the cursor in the header's search box.
document.addEventListener("keydown", function (event) {
  if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
  var target = event.target;
  var tag = target && target.tagName;
  if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable)) return;
  var box = document.getElementById("header-q");
  if (!box) return;
  event.preventDefault();
  box.focus();
  box.select();
});

// File fields in the page's language: the browser labels its own file button in its
// interface language ("Choose File" on a Chinese page). A button and the chosen names in
// the page's words stand in front; the field itself stays (labels, forms and validation).
document.addEventListener("DOMContentLoaded", function () {
  var choose = document.body.dataset.fileChoose;
  var none = document.body.dataset.fileNone;
  if (!choose) return;
  document.querySelectorAll('input[type="file"]').forEach(function (input) {
    var group = document.createElement("div");
    group.className = "input-group file-picker";
    ["w-auto", "flex-grow-1"].forEach(function (c) {  // the group takes the field's width
      if (input.classList.contains(c)) group.classList.add(c);
      input.classList.remove(c);
    });
    if (input.classList.contains("form-control-sm")) group.classList.add("input-group-sm");
    var button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-outline-secondary file-picker-button";
    button.textContent = choose;
    var label = input.getAttribute("aria-label");
    if (label) button.setAttribute("aria-label", label + ": " + choose);
    var names = document.createElement("span");
    names.className = "input-group-text text-truncate flex-grow-1 file-picker-names";
    names.textContent = none;
    if (input.classList.contains("is-invalid")) {  // its .invalid-feedback follows the group
      group.classList.add("is-invalid");
      names.classList.add("border-danger");
    }
    input.parentNode.insertBefore(group, input);
    group.append(button, names, input);
    input.classList.add("visually-hidden");
    input.tabIndex = -1;
    button.addEventListener("click", function () { input.click(); });
    input.addEventListener("change", function () {
      var chosen = Array.prototype.map.call(input.files, function (f) { return f.name; });
      names.textContent = chosen.length ? chosen.join(", ") : none;
    });
  });
});
