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
  return mount(host, {
    cls: "codex-widget codex-docstring-widget", label: "docstring", phases: PHASES, card,
    counts: (phase, done, total, tokens) => (phase === "sampling" ? ` — ${tokens} tokens, ${done}/${total} done` : ""),
    doneHead: (head, m) => {
      for (const r of m.get("refused")) {
        head.append(el("div", { class: "codex-meta", title: "a docstring that could not go into your code safely is not shown" },
          `${r.count} refused: ${r.reason}`));
      }
    },
    watch: ["refused"],
  })(model);
}

export default { render };
