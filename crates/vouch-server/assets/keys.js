// Keyboard use of the staff lists (a progressive enhancement: every page
// works without it). In a table marked data-keys: j and k move between
// rows, Enter opens the row's first link, x ticks its checkbox, a goes to
// the "assign" box, e presses the row's "handled" button or goes to its
// state; / goes to the search box.
(function () {
  var table = document.querySelector("table[data-keys]");
  var search = document.querySelector("[role=search] input");
  var rows = table ? Array.prototype.slice.call(table.tBodies[0].rows) : [];
  var at = -1;
  rows.forEach(function (row) { row.tabIndex = -1; });
  function go(i) {
    if (!rows.length) return;
    at = Math.max(0, Math.min(rows.length - 1, i));
    rows.forEach(function (row, j) { row.classList.toggle("current", j === at); });
    rows[at].focus();
  }
  function typing(target) {
    var name = target && target.tagName;
    return name === "INPUT" || name === "SELECT" || name === "TEXTAREA" || (target && target.isContentEditable);
  }
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) return;
    var row = rows[at];
    var found;
    switch (event.key) {
      case "j": go(at + 1); break;
      case "k": go(at < 0 ? 0 : at - 1); break;
      case "/": if (!search) return; search.focus(); break;
      case "Enter":
        if (!row || event.target !== row) return;
        found = row.querySelector("a[href]");
        if (!found) return;
        found.click();
        break;
      case "x":
        found = row && row.querySelector("input[type=checkbox]");
        if (!found) return;
        found.checked = !found.checked;
        break;
      case "a":
        found = document.querySelector("[data-key-assign]");
        if (!found) return;
        found.focus();
        break;
      case "e":
        // The row's "handled" button (the inbox), else its state (tasks).
        found = row && row.querySelector("[data-key-e]");
        if (found) { found.click(); break; }
        found = row && row.querySelector("select");
        if (!found) return;
        found.focus();
        break;
      default: return;
    }
    event.preventDefault();
  });
})();

// Copy buttons: data-copy names the field whose text a click copies.
(function () {
  var said = document.getElementById("copied");
  Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), function (button) {
    button.addEventListener("click", function () {
      var field = document.getElementById(button.getAttribute("data-copy"));
      if (!field) return;
      field.select();
      var done = function () { if (said) said.textContent = button.getAttribute("data-done") || "✓"; };
      if (navigator.clipboard) {
        navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand("copy"); done(); });
      } else {
        document.execCommand("copy");
        done();
      }
    });
  });
})();
