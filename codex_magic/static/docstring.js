// Front end of the %%docstring widget (an anywidget ES module), in the %%codex widget's style.
// "Insert" asks the codex-magic JupyterLab extension for a new cell below this output and
// "Replace" for this cell's code to become the candidate (DOM events it answers by setting
// detail.handled); without the extension, the code is copied. A docstring is model output:
// it is only ever set as text, never as HTML.

const PHASES = {
  loading: "Loading the model…",
  sampling: "Writing docstrings",
  scoring: "Scoring: how likely is your code after each docstring",
};

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "html") node.innerHTML = v;
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

function ask(root, event, code) {
  const detail = { code, handled: false };
  root.dispatchEvent(new CustomEvent(event, { bubbles: true, composed: true, detail }));
  return detail.handled === true;
}

function card(c, root, setStatus) {
  const canInsert = document.body.dataset.codexMagicInsert === "1";
  const canReplace = document.body.dataset.codexMagicReplace === "1";
  const insertBtn = el("button", {
    class: "codex-btn codex-btn-primary", type: "button",
    "aria-label": `Insert the function with docstring ${c.rank} as a new cell below`,
    title: canInsert ? "A new cell below: your function with this docstring" : "Copies the code: cell insertion needs the codex-magic JupyterLab extension",
  }, canInsert ? "Insert" : "Insert (copy)");
  insertBtn.addEventListener("click", async () => {
    if (ask(root, "codex-magic:insert", c.code)) { setStatus(`Docstring ${c.rank} inserted below.`); return; }
    const ok = await copyText(c.code);
    setStatus(ok ? `Copied the function with docstring ${c.rank}: this front end cannot insert cells, paste it into a new cell.`
                 : "Could not insert or copy: select the code and copy it by hand.");
  });
  const replaceBtn = el("button", {
    class: "codex-btn", type: "button",
    "aria-label": `Replace this cell with the function with docstring ${c.rank}`,
    title: canReplace ? "This cell becomes your function with this docstring (the %%docstring line goes)" : "Copies the code: replacing the cell needs the codex-magic JupyterLab extension",
  }, canReplace ? "Replace" : "Replace (copy)");
  replaceBtn.addEventListener("click", async () => {
    if (ask(root, "codex-magic:replace", c.code)) { setStatus(`This cell now holds docstring ${c.rank}.`); return; }
    const ok = await copyText(c.code);
    setStatus(ok ? `Copied the function with docstring ${c.rank}: this front end cannot change cells, paste it over the cell.`
                 : "Could not replace or copy: select the code and copy it by hand.");
  });
  const copyBtn = el("button", { class: "codex-btn", type: "button", "aria-label": `Copy the function with docstring ${c.rank}` }, "Copy");
  copyBtn.addEventListener("click", async () => {
    setStatus((await copyText(c.code)) ? `Copied docstring ${c.rank}'s function.` : "Copy failed: select the code and copy it by hand.");
  });
  const doc = el("pre", { class: "codex-code codex-docstring", tabindex: "0", "aria-label": `Docstring ${c.rank}` });
  doc.textContent = c.docstring;
  return el("div", { class: "codex-card", role: "listitem", "aria-label": `Docstring ${c.rank}` },
    el("div", { class: "codex-card-head" },
      el("span", { class: "codex-rank" }, `#${c.rank}`),
      el("span", { class: "codex-meta", title: "back-translation: the mean log-probability of your code after this docstring (higher: the docstring explains the code better, to the model)" }, `back-translation ${c.score.toFixed(3)}`),
      el("span", { class: "codex-meta", title: "how many samples wrote this docstring" }, `×${c.count}`),
      c.finish_reason === "length" ? el("span", { class: "codex-meta", title: "the docstring reached --max-tokens and was cut" }, "cut") : null,
      el("span", { class: "codex-spacer" }),
      insertBtn, replaceBtn, copyBtn),
    doc,
    el("details", { class: "codex-details" },
      el("summary", {}, "the function with it"),
      el("pre", { class: "codex-code", html: c.html, "aria-label": `Code with docstring ${c.rank}` })));
}

function render({ model, el: host }) {
  const root = el("div", { class: "codex-widget codex-docstring-widget" });
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
      head.append(el("div", { class: "codex-error", role: "alert" }, `docstring: ${model.get("error")}`));
    } else if (phase !== "done") {
      const total = model.get("total"), done = model.get("done"), tokens = model.get("tokens");
      let text = PHASES[phase] || phase;
      if (phase === "sampling") text += ` — ${tokens} tokens, ${done}/${total} done`;
      const bar = el("progress", { class: "codex-progress", max: String(Math.max(total, 1)), "aria-label": text });
      if (total) bar.value = done;
      head.append(el("div", { class: "codex-running" }, bar, el("span", {}, text)));
    } else {
      head.append(el("div", { class: "codex-summary" }, model.get("summary")));
      for (const r of model.get("refused")) {
        head.append(el("div", { class: "codex-meta", title: "a docstring that could not go into your code safely is not shown" },
          `${r.count} refused: ${r.reason}`));
      }
    }
    list.replaceChildren(...model.get("candidates").map((c) => card(c, root, setStatus)));
  }
  for (const name of ["phase", "done", "total", "tokens", "candidates", "refused", "summary", "error"]) {
    model.on(`change:${name}`, draw);
  }
  draw();
  return () => root.remove();
}

export default { render };
