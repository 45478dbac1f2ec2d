// restic-manager: the few live parts of the pages. Everything works without
// this file; it adds the live job log and progress, the cron preview, copy
// buttons, confirmations and local-time tooltips.
"use strict";

function formatBytes(value) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let size = value, unit = 0;
  while (size >= 1024 && unit < units.length - 1) { size /= 1024; unit++; }
  return unit === 0 ? value + " B" : size.toFixed(size < 10 ? 1 : 0) + " " + units[unit];
}

function localTimes(root) {
  root.querySelectorAll("time[datetime]").forEach((node) => {
    const when = new Date(node.getAttribute("datetime"));
    if (!isNaN(when)) node.title = when.toLocaleString();
  });
}

function confirmations() {
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
}

function copyButtons() {
  document.querySelectorAll("button.copy[data-copy]").forEach((button) => {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.dataset.copy);
      try {
        await navigator.clipboard.writeText(source.textContent.trim());
        button.textContent = "Copied";
      } catch (error) {
        // Clipboard needs a secure context; select the text for Ctrl-C instead.
        const range = document.createRange();
        range.selectNodeContents(source);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        button.textContent = "Selected: press Ctrl-C";
      }
    });
  });
}

// Schedule editor: check the cron expression as it is typed and show the
// next runs, using the same check the server applies on save.
function cronPreview() {
  const input = document.getElementById("cron_expr");
  if (!input || !input.dataset.previewUrl) return;
  const list = document.getElementById("cron-preview");
  const error = document.getElementById("cron_expr-error");
  let timer = null, latest = 0;
  async function check() {
    const ticket = ++latest;
    const url = input.dataset.previewUrl + "?cron_expr=" + encodeURIComponent(input.value.trim());
    let response, body;
    try {
      response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      body = await response.json();
    } catch (failure) {
      return; // offline or server restarting: the server still checks on save
    }
    if (ticket !== latest) return;
    list.replaceChildren();
    if (response.ok) {
      error.textContent = "";
      error.hidden = true;
      input.setAttribute("aria-invalid", "false");
      body.next_runs.forEach((run) => {
        const item = document.createElement("li");
        const time = document.createElement("time");
        time.dateTime = run;
        time.textContent = new Date(run).toLocaleString() + " (" + run.replace("T", " ").replace(/\.\d+Z$|Z$/, " UTC") + ")";
        item.append(time);
        list.append(item);
      });
    } else {
      // The reason alone: the message sits next to the field it names.
      const fields = body && body.error && body.error.fields;
      error.textContent = fields && fields.cron_expr ? fields.cron_expr
        : body && body.error ? body.error.message : "cannot check this expression";
      error.hidden = false;
      input.setAttribute("aria-invalid", "true");
    }
  }
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(check, 250);
  });
  if (input.value.trim()) check();
}

// Replaces the elements with these ids by their current server rendering,
// so the live page never re-implements what the server already renders.
async function refreshFromServer(ids) {
  const response = await fetch(window.location.pathname, { credentials: "same-origin" });
  if (!response.ok) return;
  const page = new DOMParser().parseFromString(await response.text(), "text/html");
  ids.forEach((id) => {
    const fresh = page.getElementById(id);
    const current = document.getElementById(id);
    if (fresh && current) current.replaceWith(fresh);
  });
  localTimes(document);
}

// Job page: follow the log and progress over Server-Sent Events until the
// job ends, then refresh the status and summary in place.
function liveJob() {
  const root = document.getElementById("job-live");
  if (!root || root.dataset.terminal === "true") return;
  const log = document.getElementById("log");
  const progress = document.getElementById("progress");
  const progressText = document.getElementById("progress-text");
  const jobID = root.dataset.jobId;
  // A reconnect may repeat lines; each is shown once.
  let lastSeq = Number(root.dataset.afterSeq || "0");
  const source = new EventSource("/api/v1/jobs/" + encodeURIComponent(jobID) + "/logs/stream?after_seq=" +
    encodeURIComponent(root.dataset.afterSeq || "0"));
  document.getElementById("live-indicator").hidden = false;

  source.addEventListener("log", (event) => {
    const line = JSON.parse(event.data);
    if (line.seq <= lastSeq) return;
    lastSeq = line.seq;
    const follow = log.scrollTop + log.clientHeight >= log.scrollHeight - 40;
    const row = document.createElement("span");
    row.className = "log-line " + line.stream;
    row.dataset.seq = line.seq;
    const stamp = document.createElement("span");
    stamp.className = "ts";
    stamp.textContent = line.ts.substring(11, 19);
    row.append(stamp, document.createTextNode(line.payload));
    log.append(row);
    document.getElementById("log-empty")?.remove();
    if (follow) log.scrollTop = log.scrollHeight;
  });

  // queued → running while the page is open.
  source.addEventListener("status", (event) => {
    const job = JSON.parse(event.data);
    const pill = document.getElementById("job-status");
    if (pill.dataset.status === job.status) return; // the stream's first event repeats the page
    pill.textContent = job.status;
    pill.dataset.status = job.status;
    pill.className = "pill status-" + job.status;
    refreshFromServer(["job-facts"]); // "Started" now has a time
  });

  source.addEventListener("progress", (event) => {
    const p = JSON.parse(event.data);
    progress.value = Math.round(p.percent_done * 1000) / 10;
    progress.textContent = progress.value + "%";
    progressText.textContent = progress.value + "% · " + p.files_done + " of " + p.total_files + " files · " +
      formatBytes(p.bytes_done) + " of " + formatBytes(p.total_bytes) +
      (p.eta_seconds > 0 ? " · about " + p.eta_seconds + " s left" : "");
  });

  // EventSource retries by itself; once it gives up (signed out, job
  // deleted) say so instead of pretending to be live.
  source.addEventListener("error", () => {
    if (source.readyState !== EventSource.CLOSED) return;
    const indicator = document.getElementById("live-indicator");
    indicator.textContent = "live updates stopped: reload the page";
    indicator.hidden = false;
  });

  source.addEventListener("end", async () => {
    source.close();
    document.getElementById("live-indicator").hidden = true;
    // "Backup job queued." no longer describes the job.
    document.getElementById("flash")?.remove();
    await refreshFromServer(["job-header", "job-outcome"]);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  // A refused form: start where the reason is, not at the top of the page.
  document.getElementById("form-error")?.focus();
  document.getElementById("config-error")?.focus();
  localTimes(document);
  confirmations();
  copyButtons();
  cronPreview();
  liveJob();
});
