/**
 * The "Codex" sidebar: write a signature and docstring, sample candidates in
 * the active notebook's kernel, and put the one you like into the notebook.
 */
import { Clipboard } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { Kernel } from '@jupyterlab/services';
import { Widget } from '@lumino/widgets';

import { codexIcon } from './icon';
import { insertCodeCellBelow, replaceActiveCell } from './insert';
import {
  ICandidate,
  IOptions,
  IProgress,
  IResult,
  Outcome,
  runGeneration
} from './kernel';
import { fetchModels } from './request';

let instances = 0;

const PHASES: { [phase: string]: string } = {
  loading: 'Loading the model',
  sampling: 'Sampling',
  testing: 'Running doctests',
  done: 'Ranking'
};

/** The signature + docstring in a cell's source, or null when it has none. */
export function promptFromCell(source: string): string | null {
  // Drop a leading cell magic line such as "%%codex -n 10".
  const text = source.replace(/^\s*%%[^\n]*\n?/, '').trim();
  if (!/^\s*(async\s+)?def\s+\w+\s*\(/m.test(text)) {
    return null;
  }
  if (!/("""|''')/.test(text)) {
    return null;
  }
  return text;
}

/** Text of a candidate's doctest badge and its colour class. */
export function badgeFor(candidate: ICandidate): { text: string; kind: string; title: string } {
  const { passed, total } = candidate;
  const status = candidate.verdict?.status ?? 'ok';
  if (!total || status === 'no tests') {
    return { text: 'no tests', kind: 'none', title: 'The docstring has no doctests to run' };
  }
  const text = `${passed}/${total} passed`;
  if (passed === total) {
    return { text, kind: 'pass', title: 'Every doctest passed' };
  }
  const why = status !== 'ok' ? ` (${status})` : '';
  return {
    text: text + why,
    kind: 'fail',
    title: `${total - passed} of ${total} doctests failed${why}`
  };
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { [key: string]: string } = {},
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'class') {
      node.className = value;
    } else {
      node.setAttribute(key, value);
    }
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

function field(
  label: string,
  input: HTMLInputElement,
  hint: string
): HTMLLabelElement {
  const wrap = el('label', { class: 'jp-CodexPanel-field', title: hint });
  wrap.append(el('span', {}, label), input);
  return wrap;
}

export class CodexPanel extends Widget {
  constructor(tracker: INotebookTracker) {
    super();
    this._tracker = tracker;
    const uid = ++instances;
    this.id = 'codex-magic-sidebar';
    this.title.icon = codexIcon;
    this.title.caption = 'Codex: write a function from its docstring';
    this.addClass('jp-CodexPanel');
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', 'Codex');

    const node = this.node;
    node.append(el('h2', { class: 'jp-CodexPanel-title' }, 'Codex'));

    this._notice = el('p', { class: 'jp-CodexPanel-notice', role: 'status' });
    node.append(this._notice);

    const promptId = `codex-magic-prompt-${uid}`;
    const promptRow = el('div', { class: 'jp-CodexPanel-promptLabel' });
    promptRow.append(el('label', { for: promptId }, 'Signature and docstring'));
    this._fromCell = el(
      'button',
      {
        class: 'jp-CodexPanel-link',
        type: 'button',
        'aria-label': 'Fill the prompt from the active cell'
      },
      'From active cell'
    );
    this._fromCell.addEventListener('click', () => this._prefill(true));
    promptRow.append(this._fromCell);
    node.append(promptRow);

    this._prompt = el('textarea', {
      id: promptId,
      class: 'jp-CodexPanel-prompt',
      rows: '9',
      spellcheck: 'false',
      placeholder: 'def add(a, b):\n    """Add two numbers.\n\n    >>> add(2, 3)\n    5\n    """',
      'aria-describedby': `codex-magic-prompt-help-${uid}`
    });
    this._prompt.addEventListener('input', () => {
      this._autofilled = false;
    });
    this._prompt.addEventListener('keydown', (event: KeyboardEvent) => {
      if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        event.stopPropagation();
        void this.generate();
      }
    });
    node.append(this._prompt);
    node.append(
      el(
        'p',
        { id: `codex-magic-prompt-help-${uid}`, class: 'jp-CodexPanel-help' },
        'Ctrl+Enter generates. Doctests (>>> lines) in the docstring rank the candidates.'
      )
    );

    const listId = `codex-magic-models-${uid}`;
    this._models = el('datalist', { id: listId });
    this._model = el('input', {
      type: 'text',
      class: 'jp-mod-styled',
      list: listId,
      placeholder: 'default',
      'aria-label': 'Model: a registry name or a GGUF file path (empty: the default model)'
    });
    this._samples = el('input', {
      type: 'number',
      class: 'jp-mod-styled',
      min: '1',
      max: '256',
      step: '1',
      value: '10',
      'aria-label': 'Number of samples'
    });
    this._temperature = el('input', {
      type: 'number',
      class: 'jp-mod-styled',
      min: '0',
      max: '2',
      step: '0.1',
      placeholder: 'auto',
      'aria-label': 'Sampling temperature (empty: chosen from the number of samples)'
    });
    this._maxTokens = el('input', {
      type: 'number',
      class: 'jp-mod-styled',
      min: '1',
      max: '4096',
      step: '1',
      value: '256',
      'aria-label': 'Most tokens per candidate'
    });
    this._seed = el('input', {
      type: 'number',
      class: 'jp-mod-styled',
      min: '0',
      step: '1',
      placeholder: 'random',
      'aria-label': 'Random seed (empty: random)'
    });
    this._context = el('input', { type: 'checkbox' });
    const context = el('label', {
      class: 'jp-CodexPanel-check',
      title:
        'Put the imports and functions of the cells already run in this kernel before the prompt'
    });
    context.append(this._context, el('span', {}, 'Use earlier cells'));
    const options = el('div', { class: 'jp-CodexPanel-options' });
    options.append(
      field('Model', this._model, 'A registry name or a GGUF file path; empty for the default'),
      field('Samples', this._samples, 'How many candidates to sample'),
      field('Temperature', this._temperature, 'Empty: low for one sample, higher for many'),
      field('Max tokens', this._maxTokens, 'Most tokens per candidate'),
      field('Seed', this._seed, 'The same seed gives the same candidates'),
      context,
      this._models
    );
    node.append(options);

    const actions = el('div', { class: 'jp-CodexPanel-actions' });
    this._generate = el(
      'button',
      {
        type: 'button',
        class: 'jp-Button jp-mod-styled jp-mod-accept',
        'aria-label': "Generate candidates in the active notebook's kernel"
      },
      'Generate'
    );
    this._generate.addEventListener('click', () => void this.generate());
    this._cancel = el(
      'button',
      {
        type: 'button',
        class: 'jp-Button jp-mod-styled jp-mod-reject',
        'aria-label': 'Cancel: interrupt the kernel'
      },
      'Cancel'
    );
    this._cancel.disabled = true;
    this._cancel.addEventListener('click', () => void this.cancel());
    actions.append(this._generate, this._cancel);
    node.append(actions);

    this._progressBox = el('div', { class: 'jp-CodexPanel-progress' });
    this._progressBox.hidden = true;
    this._progress = el('progress', { 'aria-label': 'Generation progress' });
    this._progressText = el('span', { 'aria-live': 'polite' });
    this._progressBox.append(this._progress, this._progressText);
    node.append(this._progressBox);

    this._message = el('p', { class: 'jp-CodexPanel-message', role: 'status', 'aria-live': 'polite' });
    node.append(this._message);

    this._summary = el('p', { class: 'jp-CodexPanel-summary' });
    node.append(this._summary);
    this._list = el('ol', { class: 'jp-CodexPanel-candidates', 'aria-label': 'Ranked candidates' });
    node.append(this._list);

    tracker.currentChanged.connect(this._onNotebookChanged, this);
    tracker.activeCellChanged.connect(() => this._prefill(false), this);
    this._onNotebookChanged();
    void fetchModels().then(models => {
      for (const entry of models) {
        const option = el('option', { value: entry.name });
        const missing = entry.installed === false ? ' (not downloaded yet)' : '';
        option.label = entry.description
          ? `${entry.name}${missing}: ${entry.description}`
          : entry.name + missing;
        this._models.append(option);
      }
    });
  }

  /** The notebook the panel works on: the current one, if any. */
  get notebook(): NotebookPanel | null {
    return this._tracker.currentWidget;
  }

  get running(): boolean {
    return this._runningKernel !== null;
  }

  /** The options the user set; empty fields are left to the kernel's defaults. */
  options(): IOptions {
    const options: IOptions = {};
    const int = (input: HTMLInputElement) =>
      input.value.trim() === '' ? NaN : Number(input.value);
    const samples = int(this._samples);
    if (Number.isFinite(samples)) {
      options.samples = samples;
    }
    const temperature = int(this._temperature);
    if (Number.isFinite(temperature)) {
      options.temperature = temperature;
    }
    const maxTokens = int(this._maxTokens);
    if (Number.isFinite(maxTokens)) {
      options.max_tokens = maxTokens;
    }
    const seed = int(this._seed);
    if (Number.isFinite(seed)) {
      options.seed = seed;
    }
    const model = this._model.value.trim();
    if (model) {
      options.model = model;
    }
    if (this._context.checked) {
      options.context = true;
    }
    return options;
  }

  async generate(): Promise<void> {
    if (this.running) {
      return;
    }
    const panel = this.notebook;
    const prompt = this._prompt.value.trim();
    if (!panel) {
      this._say('Open a notebook first: the Codex panel runs in its kernel.', true);
      return;
    }
    if (!prompt) {
      this._say('Write a function signature and a docstring first.', true);
      this._prompt.focus();
      return;
    }
    await panel.sessionContext.ready;
    const kernel = panel.sessionContext.session?.kernel;
    if (!kernel) {
      this._say(`Start a kernel for ${panel.title.label} first.`, true);
      return;
    }
    this._startRun(kernel);
    let outcome: Outcome;
    try {
      outcome = await runGeneration(
        kernel,
        { prompt: prompt + '\n', options: this.options() },
        progress => this._showProgress(progress)
      );
    } catch (error) {
      outcome = { kind: 'error', message: String(error) };
    }
    this._endRun();
    if (outcome.kind === 'result') {
      this._showResult(outcome.result);
    } else if (outcome.kind === 'cancelled') {
      this._say('Cancelled.');
    } else {
      this._say(outcome.message, true);
    }
  }

  async cancel(): Promise<void> {
    const kernel = this._runningKernel;
    if (!kernel) {
      return;
    }
    this._progressText.textContent = 'Cancelling…';
    try {
      await kernel.interrupt();
    } catch (error) {
      this._say(`Could not interrupt the kernel: ${String(error)}`, true);
    }
  }

  protected onActivateRequest(): void {
    if (this.isAttached) {
      this._prompt.focus();
    }
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._tracker.currentChanged.disconnect(this._onNotebookChanged, this);
    super.dispose();
  }

  private _onNotebookChanged(): void {
    const panel = this.notebook;
    if (panel) {
      this._notice.textContent = `Runs in the kernel of ${panel.title.label}.`;
      this._notice.classList.remove('jp-mod-warning');
    } else {
      this._notice.textContent =
        'Open a notebook: the Codex panel samples in its kernel and inserts candidates into it.';
      this._notice.classList.add('jp-mod-warning');
    }
    this._generate.disabled = !panel || this.running;
    this._prefill(false);
  }

  /** Fill the prompt from the active cell, unless the user typed their own. */
  private _prefill(force: boolean): void {
    if (!force && this._prompt.value.trim() !== '' && !this._autofilled) {
      return;
    }
    const cell = this.notebook?.content.activeCell;
    const prompt = cell ? promptFromCell(cell.model.sharedModel.getSource()) : null;
    if (prompt !== null) {
      this._prompt.value = prompt;
      this._autofilled = true;
    } else if (force) {
      this._say('The active cell holds no def with a docstring.', true);
    }
  }

  private _startRun(kernel: Kernel.IKernelConnection): void {
    this._runningKernel = kernel;
    this._generate.disabled = true;
    this._cancel.disabled = false;
    this._say('');
    this._summary.textContent = '';
    this._list.replaceChildren();
    this._progressBox.hidden = false;
    this._progress.removeAttribute('value');
    this._progressText.textContent = 'Waiting for the kernel…';
    this.node.setAttribute('aria-busy', 'true');
  }

  private _endRun(): void {
    this._runningKernel = null;
    this._generate.disabled = !this.notebook;
    this._cancel.disabled = true;
    this._progressBox.hidden = true;
    this.node.removeAttribute('aria-busy');
  }

  private _showProgress(progress: IProgress): void {
    const phase = PHASES[progress.phase] ?? progress.phase;
    if (progress.total > 0) {
      this._progress.max = progress.total;
      this._progress.value = Math.min(progress.done, progress.total);
    } else {
      this._progress.removeAttribute('value');
    }
    let text = phase;
    if (progress.total > 0 && progress.phase !== 'loading') {
      text += ` ${progress.done}/${progress.total}`;
    }
    if (progress.tokens > 0) {
      text += ` · ${progress.tokens} tokens`;
    }
    this._progressText.textContent = text;
  }

  private _showResult(result: IResult): void {
    const candidates = result.candidates ?? [];
    const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
    const parts = [plural(candidates.length, 'candidate')];
    if (result.n_doctests > 0) {
      parts.push(
        `${result.n_correct}/${plural(result.n_samples, 'sample')} pass all ` +
          plural(result.n_doctests, 'doctest')
      );
    } else {
      parts.push(`${plural(result.n_samples, 'sample')}, no doctests`);
    }
    parts.push(`T ${result.temperature}`, result.model);
    this._summary.textContent = parts.join(' · ');
    this._list.replaceChildren(...candidates.map(c => this._renderCandidate(c)));
    if (!candidates.length) {
      this._say('The model produced no candidates.', true);
    }
  }

  private _renderCandidate(candidate: ICandidate): HTMLLIElement {
    const item = el('li', { class: 'jp-CodexPanel-candidate' });
    const head = el('div', { class: 'jp-CodexPanel-candidateHead' });
    const badge = badgeFor(candidate);
    head.append(
      el('span', { class: 'jp-CodexPanel-rank' }, `#${candidate.rank}`),
      el('span', { class: `jp-CodexPanel-badge jp-mod-${badge.kind}`, title: badge.title }, badge.text)
    );
    const logprob =
      candidate.mean_logprob === null || candidate.mean_logprob === undefined
        ? '—'
        : candidate.mean_logprob.toFixed(3);
    const samples = `${candidate.count} sample${candidate.count === 1 ? '' : 's'}`;
    head.append(
      el(
        'span',
        { class: 'jp-CodexPanel-meta', title: 'Mean log-probability per token, and how many samples gave this code' },
        `mean log-prob ${logprob} · ${samples}`
      )
    );
    item.append(head);
    const pre = el('pre', { class: 'jp-CodexPanel-code', tabindex: '0', 'aria-label': `Candidate ${candidate.rank} code` });
    pre.textContent = candidate.code;
    item.append(pre);
    const failures = this._renderFailures(candidate);
    if (failures) {
      item.append(failures);
    }

    const buttons = el('div', { class: 'jp-CodexPanel-candidateActions' });
    const button = (label: string, aria: string, action: () => void) => {
      const b = el('button', { type: 'button', class: 'jp-CodexPanel-small', 'aria-label': aria }, label);
      b.addEventListener('click', action);
      return b;
    };
    buttons.append(
      button('Insert', `Insert candidate ${candidate.rank} below the active cell`, () =>
        this._insert(candidate)
      ),
      button('Replace', `Replace the active cell with candidate ${candidate.rank}`, () =>
        this._replace(candidate)
      ),
      button('Copy', `Copy candidate ${candidate.rank} to the clipboard`, () => {
        Clipboard.copyToSystem(candidate.code);
        this._say(`Copied candidate ${candidate.rank}.`);
      })
    );
    item.append(buttons);
    return item;
  }

  private _renderFailures(candidate: ICandidate): HTMLDetailsElement | null {
    const verdict = candidate.verdict;
    const failures = verdict?.failures ?? [];
    if (!failures.length && !verdict?.detail) {
      return null;
    }
    const details = el('details', { class: 'jp-CodexPanel-failures' });
    const n = failures.length;
    details.append(
      el('summary', {}, n ? `${n} failing example${n === 1 ? '' : 's'}` : 'details')
    );
    if (verdict.detail) {
      details.append(el('p', {}, verdict.detail));
    }
    for (const f of failures.slice(0, 10)) {
      details.append(
        el('pre', {}, `>>> ${f.source.trimEnd()}\n${f.reason}\nexpected: ${f.expected.trimEnd()}\ngot: ${f.got.trimEnd() || '(nothing)'}`)
      );
    }
    return details;
  }

  private _insert(candidate: ICandidate): void {
    const panel = this.notebook;
    if (!panel) {
      this._say('Open a notebook to insert into.', true);
      return;
    }
    const notebook = panel.content;
    const index = notebook.activeCellIndex;
    insertCodeCellBelow(notebook, index, candidate.code);
    this._say(`Inserted candidate ${candidate.rank} below cell ${index + 1}.`);
  }

  private _replace(candidate: ICandidate): void {
    const panel = this.notebook;
    if (!panel || !panel.content.activeCell) {
      this._say('Open a notebook and select a cell to replace.', true);
      return;
    }
    replaceActiveCell(panel.content, candidate.code);
    this._say(`Replaced cell ${panel.content.activeCellIndex + 1} with candidate ${candidate.rank}.`);
  }

  private _say(message: string, warning = false): void {
    this._message.textContent = message;
    this._message.classList.toggle('jp-mod-warning', warning);
  }

  private _tracker: INotebookTracker;
  private _runningKernel: Kernel.IKernelConnection | null = null;
  private _autofilled = false;
  private _notice: HTMLParagraphElement;
  private _fromCell: HTMLButtonElement;
  private _prompt: HTMLTextAreaElement;
  private _models: HTMLDataListElement;
  private _model: HTMLInputElement;
  private _samples: HTMLInputElement;
  private _temperature: HTMLInputElement;
  private _maxTokens: HTMLInputElement;
  private _seed: HTMLInputElement;
  private _context: HTMLInputElement;
  private _generate: HTMLButtonElement;
  private _cancel: HTMLButtonElement;
  private _progressBox: HTMLDivElement;
  private _progress: HTMLProgressElement;
  private _progressText: HTMLSpanElement;
  private _message: HTMLParagraphElement;
  private _summary: HTMLParagraphElement;
  private _list: HTMLOListElement;
}
