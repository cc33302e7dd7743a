// Progressive enhancement of the dossier form: chosen files are sent in 1 MB chunks before the
// form, with a progress bar, and a chunk that breaks off on a weak connection is resumed from
// what the server already holds instead of starting again. Without JavaScript the form sends
// the files itself.
(function () {
  "use strict";
  var form = document.getElementById("dossier-form");
  if (!form || !window.fetch || !window.Blob || !Blob.prototype.slice) return;
  var CHUNK = 1024 * 1024;
  var csrf = form.querySelector("input[name=csrf]").value;
  var dossier = form.getAttribute("data-dossier");

  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }
  function call(method, url, body, type, offset) {
    var headers = { "x-csrf-token": csrf };
    if (type) headers["content-type"] = type;
    if (offset !== undefined) headers["upload-offset"] = String(offset);
    return fetch(url, { method: method, headers: headers, body: body, credentials: "same-origin" });
  }
  function Refused(message) { this.message = message; }
  var MESSAGES = {
    empty_file: "Tệp rỗng (0 byte).",
    file_too_large: "Tệp vượt quá dung lượng cho phép.",
    dossier_too_large: "Tổng dung lượng tệp của hồ sơ vượt quá mức cho phép.",
    unsupported_file_type: "Tệp không phải PDF, JPEG hoặc PNG."
  };
  async function refusal(r, name) {
    var prefix = name ? "\"" + name + "\": " : "";
    try {
      var j = await r.json();
      return new Refused(prefix + (MESSAGES[j.error.code] || j.error.message));
    } catch (e) { return new Refused(prefix + "Máy chủ từ chối tệp (mã " + r.status + ")."); }
  }
  async function held(id) {
    var r = await call("GET", "/uploads/" + id);
    if (!r.ok) throw await refusal(r);
    return (await r.json()).received;
  }

  async function send(file, progress) {
    var r = await call("POST", "/uploads", JSON.stringify({ file_name: file.name, size: file.size }), "application/json");
    if (!r.ok) throw await refusal(r, file.name);
    var id = (await r.json()).id;
    var offset = 0, failures = 0;
    while (true) {
      try {
        var chunk = file.slice(offset, Math.min(offset + CHUNK, file.size));
        r = await call("PUT", "/uploads/" + id, chunk, "application/octet-stream", offset);
      } catch (e) {
        r = null;
      }
      if (r && r.status === 409) { offset = await held(id); continue; }
      if (r && r.ok) {
        var state = await r.json();
        offset = state.received;
        failures = 0;
        progress(offset / file.size);
        if (state.complete) return id;
        continue;
      }
      if (r && r.status >= 400 && r.status < 500) throw await refusal(r, file.name);
      // The connection broke: wait, ask what arrived, go on from there.
      failures += 1;
      if (failures > 10) throw new Refused("Mất kết nối khi gửi tệp \"" + file.name + "\". Hãy thử lại khi có mạng.");
      await sleep(Math.min(30000, 1000 * failures));
      try { offset = await held(id); } catch (e) { if (e instanceof Refused) throw e; }
    }
  }

  form.addEventListener("submit", async function (event) {
    var inputs = Array.prototype.filter.call(form.querySelectorAll("input[type=file]"), function (i) { return i.files.length > 0; });
    if (inputs.length === 0) return;
    event.preventDefault();
    var submitter = event.submitter;
    var list = document.getElementById("upload-progress");
    list.hidden = false;
    var problems = [];
    for (var i = 0; i < inputs.length; i++) {
      var input = inputs[i];
      for (var j = 0; j < input.files.length; j++) {
        var file = input.files[j];
        var item = document.createElement("li");
        var bar = document.createElement("progress");
        bar.max = 1; bar.value = 0;
        item.textContent = file.name + " ";
        item.appendChild(bar);
        list.appendChild(item);
        try {
          var id = await send(file, function (p) { bar.value = p; });
          var r = await call("POST", "/dossiers/" + dossier + "/attach-upload",
            JSON.stringify({ upload_id: id, field: input.name }), "application/json");
          if (!r.ok) throw await refusal(r, file.name);
          item.appendChild(document.createTextNode(" ✓"));
        } catch (e) {
          problems.push(e.message || String(e));
          item.appendChild(document.createTextNode(" — " + (e.message || e)));
        }
      }
      input.value = "";
    }
    if (problems.length === 0) {
      if (form.requestSubmit) form.requestSubmit(submitter); else form.submit();
    } else {
      var box = document.getElementById("upload-errors");
      box.hidden = false;
      box.textContent = "Một số tệp chưa được đính kèm: " + problems.join(" ");
    }
  });
})();
