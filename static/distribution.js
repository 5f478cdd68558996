// The issue form: "Add a recipient" copies the last row with the next index, and the
// location and custodian fields are only enabled for "A named location…".
(function () {
  "use strict";
  var table = document.getElementById("recipient-rows");
  if (!table) { return; }
  var body = table.querySelector("tbody");

  function sync(row) {
    var recipient = row.querySelector("select.recipient");
    var isLocation = recipient.value === "location";
    row.querySelectorAll(".location-fields input, .location-fields select").forEach(function (el) {
      el.disabled = !isLocation;
    });
  }

  body.addEventListener("change", function (event) {
    if (event.target.classList.contains("recipient")) { sync(event.target.closest("tr")); }
  });
  body.querySelectorAll("tr.recipient-row").forEach(sync);

  document.getElementById("add-recipient").addEventListener("click", function () {
    var rows = body.querySelectorAll("tr.recipient-row");
    var last = rows[rows.length - 1];
    var next = Number(last.dataset.index) + 1;
    var copy = last.cloneNode(true);
    copy.dataset.index = String(next);
    copy.classList.remove("table-danger");
    copy.querySelectorAll("[id], [name], label[for]").forEach(function (el) {
      ["id", "name", "for"].forEach(function (attr) {
        var value = el.getAttribute(attr);
        if (value) { el.setAttribute(attr, value.replace(/-\d+$/, "-" + next)); }
      });
    });
    copy.querySelectorAll("select").forEach(function (el) { el.selectedIndex = 0; });
    copy.querySelector("input[name^='location-']").value = "";
    copy.querySelector("input[name^='copies-']").value = "1";
    body.appendChild(copy);
    sync(copy);
    copy.querySelector("select.recipient").focus();
  });
})();
