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
