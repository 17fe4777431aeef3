/**
 * The "Codex" sidebar: write a signature and docstring, sample candidates in
 * the active notebook's kernel, and put the one you like into the notebook.
 *
 * The panel follows the current notebook and its kernel; its parts are the
 * prompt box, the options form (built from the schema the kernel sends), the
 * progress bar and the candidate list.
 */
import { Clipboard } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';

import { CandidateList } from './candidates';
import { el } from './dom';
import { codexIcon } from './icon';
import { insertCodeCellBelow, replaceActiveCell } from './insert';
import { Outcome, runGeneration } from './kernel';
import { OptionsForm } from './optionsform';
import { PromptBox, promptFromCell } from './prompt';
import { ICandidate } from './protocol';
import { fetchModels } from './request';
import { RunControls } from './run';
import { SchemaLoader } from './schemaloader';

let instances = 0;

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

    this._prompt = new PromptBox(uid, () => this._prefill(true), () => void this.generate());
    this._form = new OptionsForm(uid, () => void this._schema.reload());
    this._schema = new SchemaLoader(this._form, () => this.isVisible);
    this._results = new CandidateList({
      insert: c => this._insert(c),
      replace: c => this._replace(c),
      copy: c => {
        Clipboard.copyToSystem(c.code);
        this._say(`Copied candidate ${c.rank}.`);
      }
    });
    this._run = new RunControls(
      () => void this.generate(),
      message => this._say(message, true)
    );
    this.node.append(
      el('h2', { class: 'jp-CodexPanel-title' }, 'Codex'),
      this._notice,
      this._prompt.node,
      this._form.node,
      this._run.buttons,
      this._run.progress,
      this._message,
      this._results.node
    );

    tracker.currentChanged.connect(this._onNotebookChanged, this);
    tracker.activeCellChanged.connect(this._onActiveCellChanged, this);
    this._onNotebookChanged();
    void fetchModels().then(models => {
      // The one field with suggestions: the models registry's names.
      const suggestions = models.map(m => {
        const name = m.installed === false ? `${m.name} (not downloaded yet)` : m.name;
        return { value: m.name, label: m.description ? `${name}: ${m.description}` : name };
      });
      this._form.setSuggestions('model', suggestions);
    });
  }

  /** The notebook the panel works on: the current one, if any. */
  get notebook(): NotebookPanel | null {
    return this._tracker.currentWidget;
  }

  get running(): boolean {
    return this._run.running;
  }

  async generate(): Promise<void> {
    if (this.running) {
      return;
    }
    const panel = this.notebook;
    const prompt = this._prompt.value;
    if (!panel) {
      this._say('Open a notebook first: the Codex panel runs in its kernel.', true);
      return;
    }
    if (!prompt) {
      this._say('Write a function signature and a docstring first.', true);
      this._prompt.focus();
      return;
    }
    const { options, errors } = this._form.options();
    if (errors.length) {
      this._say(errors.join(' '), true);
      return;
    }
    await panel.sessionContext.ready;
    const kernel = panel.sessionContext.session?.kernel;
    if (!kernel) {
      this._say(`Start a kernel for ${panel.title.label} first.`, true);
      return;
    }
    this._say('');
    this._results.clear();
    this._run.start(kernel);
    this.node.setAttribute('aria-busy', 'true');
    let outcome: Outcome;
    try {
      outcome = await runGeneration(kernel, { prompt: prompt + '\n', options }, p =>
        this._run.update(p)
      );
    } catch (error) {
      outcome = { kind: 'error', message: String(error) };
    }
    this._run.end();
    this.node.removeAttribute('aria-busy');
    if (outcome.kind === 'result') {
      if (!this._results.show(outcome.result)) {
        this._say('The model produced no candidates.', true);
      }
    } else if (outcome.kind === 'cancelled') {
      this._say('Cancelled.');
    } else {
      this._say(outcome.message, true);
    }
  }

  cancel(): Promise<void> {
    return this._run.cancel();
  }

  protected onActivateRequest(): void {
    if (this.isAttached) {
      this._prompt.focus();
    }
  }

  protected onAfterAttach(): void {
    void this._schema.load();
  }

  protected onAfterShow(): void {
    void this._schema.load();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._schema.dispose();
    this._tracker.currentChanged.disconnect(this._onNotebookChanged, this);
    this._tracker.activeCellChanged.disconnect(this._onActiveCellChanged, this);
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
    this._run.canGenerate = !!panel;
    this._schema.follow(panel?.sessionContext ?? null, panel?.title.label);
    this._prefill(false);
  }

  private _onActiveCellChanged(): void {
    this._prefill(false);
  }

  /** Fill the prompt from the active cell, unless the user typed their own. */
  private _prefill(force: boolean): void {
    if (!force && this._prompt.typed) {
      return;
    }
    const cell = this.notebook?.content.activeCell;
    const prompt = cell ? promptFromCell(cell.model.sharedModel.getSource()) : null;
    if (prompt !== null) {
      this._prompt.fill(prompt);
    } else if (force) {
      this._say('The active cell holds no def with a docstring.', true);
    }
  }

  private _insert(candidate: ICandidate): void {
    const notebook = this.notebook?.content;
    if (!notebook) {
      this._say('Open a notebook to insert into.', true);
      return;
    }
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
    const index = panel.content.activeCellIndex;
    this._say(`Replaced cell ${index + 1} with candidate ${candidate.rank}.`);
  }

  private _say(message: string, warning = false): void {
    this._message.textContent = message;
    this._message.classList.toggle('jp-mod-warning', warning);
  }

  private _tracker: INotebookTracker;
  private _notice = el('p', { class: 'jp-CodexPanel-notice', role: 'status' });
  private _prompt: PromptBox;
  private _form: OptionsForm;
  private _schema: SchemaLoader;
  private _run: RunControls;
  private _message = el('p', {
    class: 'jp-CodexPanel-message',
    role: 'status',
    'aria-live': 'polite'
  });
  private _results: CandidateList;
}
