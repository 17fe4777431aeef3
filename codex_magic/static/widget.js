// Front end of the %%codex widget (an anywidget ES module).
// "Insert" asks the codex-magic JupyterLab extension to add a cell below this output
// (a DOM event it answers by setting detail.handled); without it, the code is copied.

const PHASES = {
  loading: "Loading the model…",
  sampling: "Sampling",
  testing: "Running doctests",
};

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

function insertBelow(root, code) {
  const detail = { code, handled: false };
  root.dispatchEvent(new CustomEvent("codex-magic:insert", { bubbles: true, composed: true, detail }));
  return detail.handled === true;
}

// The badge's text, kind (pass, fail, none) and tooltip come from Python (render.badge).
function badge(c) {
  const b = c.badge;
  return el("span", { class: `codex-badge codex-badge-${b.kind}`, title: b.title, "aria-label": b.title }, b.text);
}

function failures(c) {
  if (!c.failures.length && !c.detail) return null;
  const body = el("div", { class: "codex-failures" });
  if (c.detail) body.append(el("div", { class: "codex-detail" }, c.detail));
  for (const f of c.failures) {
    body.append(el("div", { class: "codex-failure" },
      el("div", { class: "codex-failure-reason" }, f.reason),
      el("pre", {}, `>>> ${f.source.trimEnd()}`),
      f.expected ? el("div", {}, "expected:") : null,
      f.expected ? el("pre", {}, f.expected) : null,
      el("div", {}, "got:"),
      el("pre", {}, f.got || "(nothing)")));
  }
  const n = c.failures.length;
  return el("details", { class: "codex-details" },
    el("summary", {}, n ? `${n} failing example${n > 1 ? "s" : ""}` : "details"), body);
}

// What the model says the candidate does, from its code alone: model output, so text only.
function explanation(c) {
  const line = el("div", { class: "codex-explanation", title: "what the model says this code does, reading the code alone (not your docstring)" },
    el("span", { class: "codex-meta" }, "What it does: "));
  line.append(document.createTextNode(c.explanation));
  return line;
}

// "What does each do?": the kernel writes a one-line summary of every candidate.
function explainButton(model) {
  const running = model.get("explaining") === "running";
  const btn = el("button", { class: "codex-btn", type: "button", title: "the model summarises each candidate in one line, from its code alone" },
    running ? "Explaining…" : "What does each do?");
  if (running) btn.disabled = true;
  btn.addEventListener("click", () => { model.send({ type: "explain" }); });
  return btn;
}

function card(c, root, setStatus) {
  const hasLab = document.body.dataset.codexMagicInsert === "1";
  const insertBtn = el("button", {
    class: "codex-btn codex-btn-primary", type: "button",
    "aria-label": `Insert candidate ${c.rank} as a new cell below`,
    title: hasLab ? "Insert as a new cell below" : "Copies the code: cell insertion needs the codex-magic JupyterLab extension",
  }, hasLab ? "Insert" : "Insert (copy)");
  insertBtn.addEventListener("click", async () => {
    if (insertBelow(root, c.code)) { setStatus(`Candidate ${c.rank} inserted below.`); return; }
    const ok = await copyText(c.code);
    setStatus(ok ? `Copied candidate ${c.rank}: this front end cannot insert cells (the codex-magic JupyterLab extension is not active), paste it into a new cell.`
                 : "Could not insert or copy: select the code and copy it by hand.");
  });
  const copyBtn = el("button", { class: "codex-btn", type: "button", "aria-label": `Copy candidate ${c.rank}` }, "Copy");
  copyBtn.addEventListener("click", async () => {
    setStatus((await copyText(c.code)) ? `Copied candidate ${c.rank}.` : "Copy failed: select the code and copy it by hand.");
  });
  const lp = c.mean_logprob === null ? "–" : c.mean_logprob.toFixed(3);
  return el("div", { class: "codex-card", role: "listitem", "aria-label": `Candidate ${c.rank}` },
    el("div", { class: "codex-card-head" },
      el("span", { class: "codex-rank" }, `#${c.rank}`),
      badge(c),
      el("span", { class: "codex-meta", title: "mean token log-probability under the model" }, `log-prob ${lp}`),
      el("span", { class: "codex-meta", title: "how many samples wrote this code" }, `×${c.count}`),
      c.finish_reason === "repetition"
        ? el("span", { class: "codex-meta", title: "the model kept repeating itself, so this sample was stopped early" }, "repeated itself")
        : null,
      el("span", { class: "codex-spacer" }),
      insertBtn, copyBtn),
    c.explanation ? explanation(c) : null,
    el("pre", { class: "codex-code", html: c.html, tabindex: "0", "aria-label": `Code of candidate ${c.rank}` }),
    failures(c));
}

function render({ model, el: host }) {
  const root = el("div", { class: "codex-widget" });
  const live = el("div", { class: "codex-status", role: "status", "aria-live": "polite" });
  const head = el("div", { class: "codex-head" });
  const list = el("div", { class: "codex-list", role: "list" });
  root.append(head, list, live);
  host.append(root);
  const setStatus = (text) => { live.textContent = text; };

  function draw() {
    const phase = model.get("phase");
    head.replaceChildren();
    if (phase === "error") {
      head.append(el("div", { class: "codex-error", role: "alert" }, `codex: ${model.get("error")}`));
    } else if (phase !== "done") {
      const total = model.get("total"), done = model.get("done"), tokens = model.get("tokens");
      let text = PHASES[phase] || phase;
      if (phase === "sampling") text += ` — ${tokens} tokens, ${done}/${total} candidates done`;
      if (phase === "testing") text += ` — ${done}/${total} candidates`;
      const bar = el("progress", { class: "codex-progress", max: String(Math.max(total, 1)), "aria-label": text });
      if (total) bar.value = done;
      head.append(el("div", { class: "codex-running" }, bar, el("span", {}, text)));
    } else {
      head.append(el("div", { class: "codex-summary" }, model.get("summary")));
      const cands = model.get("candidates");
      if (model.get("can_explain") && cands.length && !cands.every((c) => c.explanation)) {
        head.append(explainButton(model));
      }
      const note = model.get("explaining");
      if (note && note !== "running") head.append(el("div", { class: "codex-meta" }, note));
    }
    list.replaceChildren(...model.get("candidates").map((c) => card(c, root, setStatus)));
  }
  for (const name of ["phase", "done", "total", "tokens", "candidates", "summary", "error", "can_explain", "explaining"]) {
    model.on(`change:${name}`, draw);
  }
  draw();
  return () => root.remove();
}

export default { render };
