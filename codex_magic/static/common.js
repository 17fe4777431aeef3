// Shared by the widgets' front ends (widget.js, docstring.js): the Python side puts this
// file before each of them, so they are one ES module each.

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "html") node.innerHTML = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c != null) node.append(c);
  return node;
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch (e) {
    const area = el("textarea", { "aria-hidden": "true" });
    area.value = text;
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.append(area);
    area.select();
    let ok = false;
    try { ok = document.execCommand("copy"); } catch (e2) { ok = false; }
    area.remove();
    return ok;
  }
}

// Ask the codex-magic JupyterLab extension for something ("codex-magic:insert" a new cell
// below, "codex-magic:replace" this cell's code): it answers by setting detail.handled.
function ask(root, event, code) {
  const detail = { code, handled: false };
  root.dispatchEvent(new CustomEvent(event, { bubbles: true, composed: true, detail }));
  return detail.handled === true;
}

// The frame both widgets draw: a head (progress while running, then the summary and
// what ``doneHead`` adds, or the error), the list of cards, and a live status line.
// ``counts(phase, done, total, tokens)`` words the progress of a phase.
function mount(host, { cls, label, phases, counts, doneHead, card, watch }) {
  const root = el("div", { class: cls });
  const live = el("div", { class: "codex-status", role: "status", "aria-live": "polite" });
  const head = el("div", { class: "codex-head" });
  const list = el("div", { class: "codex-list", role: "list" });
  root.append(head, list, live);
  host.append(root);
  const setStatus = (text) => { live.textContent = text; };
  return (model) => {
    function draw() {
      const phase = model.get("phase");
      head.replaceChildren();
      if (phase === "error") {
        head.append(el("div", { class: "codex-error", role: "alert" }, `${label}: ${model.get("error")}`));
      } else if (phase !== "done") {
        const total = model.get("total"), done = model.get("done");
        const text = (phases[phase] || phase) + counts(phase, done, total, model.get("tokens"));
        const bar = el("progress", { class: "codex-progress", max: String(Math.max(total, 1)), "aria-label": text });
        if (total) bar.value = done;
        head.append(el("div", { class: "codex-running" }, bar, el("span", {}, text)));
      } else {
        head.append(el("div", { class: "codex-summary" }, model.get("summary")));
        doneHead(head, model);
      }
      list.replaceChildren(...model.get("candidates").map((c) => card(c, root, setStatus)));
    }
    for (const name of ["phase", "done", "total", "tokens", "candidates", "summary", "error", ...watch]) {
      model.on(`change:${name}`, draw);
    }
    draw();
    return () => root.remove();
  };
}
