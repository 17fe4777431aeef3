// Front end of the %%codex widget (an anywidget ES module).
// "Insert" asks the codex-magic JupyterLab extension to add a cell below this output
// (a DOM event it answers by setting detail.handled); without it, the code is copied.

const PHASES = {
  loading: "Loading the model…",
  sampling: "Sampling",
  testing: "Running doctests",
};

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
    if (ask(root, "codex-magic:insert", c.code)) { setStatus(`Candidate ${c.rank} inserted below.`); return; }
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
  return mount(host, {
    cls: "codex-widget", label: "codex", phases: PHASES, card,
    counts: (phase, done, total, tokens) => (
      phase === "sampling" ? ` — ${tokens} tokens, ${done}/${total} candidates done`
        : phase === "testing" ? ` — ${done}/${total} candidates` : ""),
    doneHead: (head, m) => {
      const cands = m.get("candidates");
      if (m.get("can_explain") && cands.length && !cands.every((c) => c.explanation)) {
        head.append(explainButton(m));
      }
      const note = m.get("explaining");
      if (note && note !== "running") head.append(el("div", { class: "codex-meta" }, note));
    },
    watch: ["can_explain", "explaining"],
  })(model);
}

export default { render };
