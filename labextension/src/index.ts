/**
 * codex-magic: the JupyterLab / Notebook 7 side of codex_magic.
 *
 * - `codex-magic:insert` lets the `%%codex` output widget insert a candidate
 *   as a new code cell below its own cell (the kernel cannot do that itself).
 * - `codex-magic:sidebar` adds the "Codex" panel to the left area.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';

import { codexIcon } from './icon';
import { listenForInsert } from './insert';
import { CodexPanel } from './sidebar';

const OPEN_SIDEBAR = 'codex-magic:open-sidebar';

const insertPlugin: JupyterFrontEndPlugin<void> = {
  id: 'codex-magic:insert',
  description: 'Inserts %%codex candidates as new cells below the widget that shows them.',
  autoStart: true,
  requires: [INotebookTracker],
  activate: (app: JupyterFrontEnd, tracker: INotebookTracker) => {
    listenForInsert(tracker);
  }
};

const sidebarPlugin: JupyterFrontEndPlugin<void> = {
  id: 'codex-magic:sidebar',
  description: 'A left-area panel that samples, tests and ranks candidates in the notebook kernel.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ICommandPalette, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null
  ) => {
    const panel = new CodexPanel(tracker);
    app.shell.add(panel, 'left', { rank: 850 });
    if (restorer) {
      restorer.add(panel, panel.id);
    }
    app.commands.addCommand(OPEN_SIDEBAR, {
      label: 'Open the Codex Sidebar',
      caption: 'Write a function from its docstring with a local model',
      icon: codexIcon,
      execute: () => {
        app.shell.activateById(panel.id);
      }
    });
    if (palette) {
      palette.addItem({ command: OPEN_SIDEBAR, category: 'Codex' });
    }
  }
};

export default [insertPlugin, sidebarPlugin];
