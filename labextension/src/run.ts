/** A run's controls: the Generate and Cancel buttons and the progress bar. */
import type { Kernel } from '@jupyterlab/services';

import { button, el } from './dom';
import { IProgress } from './protocol';

const PHASES: { [phase: string]: string } = {
  loading: 'Loading the model',
  sampling: 'Sampling',
  testing: 'Running doctests',
  done: 'Ranking'
};

/** "Sampling 3/10 · 412 tokens". */
export function describeProgress(progress: IProgress): string {
  let text = PHASES[progress.phase] ?? progress.phase;
  if (progress.total > 0 && progress.phase !== 'loading') {
    text += ` ${progress.done}/${progress.total}`;
  }
  if (progress.tokens > 0) {
    text += ` · ${progress.tokens} tokens`;
  }
  return text;
}

export class RunControls {
  readonly buttons = el('div', { class: 'jp-CodexPanel-actions' });
  readonly progress = el('div', { class: 'jp-CodexPanel-progress' });

  /** `onGenerate`: the Generate button; Cancel interrupts the running kernel. */
  constructor(onGenerate: () => void, onCancelFailed: (message: string) => void) {
    this._generate = button(
      'Generate',
      {
        class: 'jp-Button jp-mod-styled jp-mod-accept',
        'aria-label': "Generate candidates in the active notebook's kernel"
      },
      onGenerate
    );
    this._cancel = button(
      'Cancel',
      {
        class: 'jp-Button jp-mod-styled jp-mod-reject',
        'aria-label': 'Cancel: interrupt the kernel'
      },
      () => void this.cancel()
    );
    this._cancel.disabled = true;
    this._onCancelFailed = onCancelFailed;
    this.buttons.append(this._generate, this._cancel);
    this.progress.hidden = true;
    this.progress.append(this._bar, this._text);
  }

  get running(): boolean {
    return this._kernel !== null;
  }

  /** Whether Generate may be pressed (a notebook is open); never during a run. */
  set canGenerate(value: boolean) {
    this._canGenerate = value;
    this._generate.disabled = !value || this.running;
  }

  start(kernel: Kernel.IKernelConnection): void {
    this._kernel = kernel;
    this._generate.disabled = true;
    this._cancel.disabled = false;
    this.progress.hidden = false;
    this._bar.removeAttribute('value');
    this._text.textContent = 'Waiting for the kernel…';
  }

  update(progress: IProgress): void {
    if (progress.total > 0) {
      this._bar.max = progress.total;
      this._bar.value = Math.min(progress.done, progress.total);
    } else {
      this._bar.removeAttribute('value');
    }
    this._text.textContent = describeProgress(progress);
  }

  end(): void {
    this._kernel = null;
    this._generate.disabled = !this._canGenerate;
    this._cancel.disabled = true;
    this.progress.hidden = true;
  }

  async cancel(): Promise<void> {
    const kernel = this._kernel;
    if (!kernel) {
      return;
    }
    this._text.textContent = 'Cancelling…';
    try {
      await kernel.interrupt();
    } catch (error) {
      this._onCancelFailed(`Could not interrupt the kernel: ${String(error)}`);
    }
  }

  private _generate: HTMLButtonElement;
  private _cancel: HTMLButtonElement;
  private _onCancelFailed: (message: string) => void;
  private _kernel: Kernel.IKernelConnection | null = null;
  private _canGenerate = false;
  private _bar = el('progress', { 'aria-label': 'Generation progress' });
  private _text = el('span', { 'aria-live': 'polite' });
}
