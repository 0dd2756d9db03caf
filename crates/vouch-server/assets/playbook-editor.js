// The playbook editor's "Check": the compliance guard's verdict before
// saving, from POST /api/v1/playbooks/check (the session's own CSRF token).
(function () {
  var form = document.getElementById("editor");
  var button = document.getElementById("check");
  var verdict = document.getElementById("verdict");
  if (!form || !button || !verdict) return;
  function say(text, bad) {
    verdict.textContent = text;
    verdict.className = bad ? "error" : "ok";
  }
  button.addEventListener("click", function () {
    var body;
    try {
      body = JSON.parse(document.getElementById("spec").value);
    } catch (e) {
      say(e.message, true);
      return;
    }
    fetch("/api/v1/playbooks/check", {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrf-token": form.dataset.csrf },
      body: JSON.stringify(body),
    })
      .then(function (r) { return r.json(); })
      .then(function (v) {
        if (v.ok) { say(verdict.dataset.ok, false); return; }
        if (v.invalid) { say(v.invalid.field + ": " + v.invalid.message, true); return; }
        if (v.denials) {
          say(v.denials.map(function (d) { return d.rule + ": " + d.message; }).join("; "), true);
          return;
        }
        say((v.error && v.error.message) || "?", true);
      })
      .catch(function (e) { say(String(e), true); });
  });
})();
