/**
 * Keeps the options form in step with the current notebook's kernel: the
 * schema is read from the kernel when the panel shows, and again after the
 * kernel changes or restarts (it may hold another codex_magic, or none).
 * Only types come from JupyterLab, so the tests can drive it with fakes.
 */
import type { ISessionContext } from '@jupyterlab/apputils';
import type { Kernel } from '@jupyterlab/services';

import { fetchSchema } from './kernel';
import { OptionsForm } from './optionsform';

// Kernel states after which the options are read again.
const STARTING = new Set<Kernel.Status>(['starting', 'restarting', 'autorestarting', 'dead']);

export class SchemaLoader {
  /** `shown` says whether the panel is on screen: the kernel is asked only then. */
  constructor(form: OptionsForm, shown: () => boolean) {
    this._form = form;
    this._shown = shown;
  }

  /** Follow this notebook's session (`label` names it in notes); null: none. */
  follow(session: ISessionContext | null, label = ''): void {
    if (this._session) {
      this._session.kernelChanged.disconnect(this._onKernelChanged, this);
      this._session.statusChanged.disconnect(this._onStatus, this);
    }
    this._session = session;
    this._label = label;
    if (session) {
      session.kernelChanged.connect(this._onKernelChanged, this);
      session.statusChanged.connect(this._onStatus, this);
    }
    this._onKernelChanged();
  }

  /** Read the options if they may have changed and the panel shows. */
  async load(): Promise<void> {
    if (!this._stale || this._loading || !this._shown()) {
      return;
    }
    const session = this._session;
    if (!session) {
      this._form.wait('Open a notebook to see the options of its kernel.');
      return;
    }
    const request = ++this._request;
    this._loading = true;
    try {
      await session.ready;
      const kernel = session.session?.kernel;
      if (request !== this._request) {
        return;
      }
      if (!kernel) {
        this._form.wait(`Start a kernel for ${this._label} to see the options.`);
        return;
      }
      this._form.wait('Loading the options from the kernel…');
      const answer = await fetchSchema(kernel);
      if (request !== this._request) {
        return;
      }
      if (answer.kind === 'schema') {
        this._stale = false;
        this._form.setSchema(answer.schema);
      } else if (answer.kind === 'error') {
        this._stale = false;
        this._form.fail(answer.message);
      }
      // 'cancelled' (interrupted, or aborted behind a failing cell): read again when idle.
    } finally {
      if (request === this._request) {
        this._loading = false;
      }
    }
  }

  /** Ask the kernel again (the user's "Try again"). */
  reload(): Promise<void> {
    this._invalidate('Loading the options from the kernel…');
    return this.load();
  }

  dispose(): void {
    this.follow(null);
  }

  private _onKernelChanged(): void {
    this._invalidate('Loading the options from the kernel…');
    void this.load();
  }

  private _onStatus(_: ISessionContext, status: Kernel.Status): void {
    if (STARTING.has(status)) {
      this._invalidate('Waiting for the kernel to start…');
    } else if (status === 'idle') {
      void this.load();
    }
  }

  /** Forget the options and any answer on its way (it is for the old kernel). */
  private _invalidate(note: string): void {
    this._stale = true;
    this._loading = false;
    this._request++;
    this._form.wait(note);
  }

  private _form: OptionsForm;
  private _shown: () => boolean;
  private _session: ISessionContext | null = null;
  private _label = '';
  private _stale = true;
  private _loading = false;
  private _request = 0;
}
