/**
 * One-click insertion for the `%%codex` output widget.
 *
 * The widget dispatches `codex-magic:insert` on its own root element; this
 * module finds the notebook cell holding that element and inserts a new code
 * cell below it. The widget reads `detail.handled` right after
 * `dispatchEvent`, so everything here is synchronous.
 */
import { Cell } from '@jupyterlab/cells';
import {
  INotebookTracker,
  Notebook,
  NotebookActions,
  NotebookPanel
} from '@jupyterlab/notebook';

export const INSERT_EVENT = 'codex-magic:insert';

export interface IInsertDetail {
  code: string;
  handled: boolean;
}

/** The notebook panel and cell index whose cell DOM node contains `target`. */
export function findCell(
  tracker: INotebookTracker,
  target: Node
): { panel: NotebookPanel; index: number } | null {
  const panel = tracker.find(p => p.content.node.contains(target));
  if (!panel) {
    return null;
  }
  const index = panel.content.widgets.findIndex((cell: Cell) =>
    cell.node.contains(target)
  );
  return index >= 0 ? { panel, index } : null;
}

/** Insert a code cell holding `code` right below cell `index`, and select it. */
export function insertCodeCellBelow(
  notebook: Notebook,
  index: number,
  code: string
): void {
  const model = notebook.model;
  if (!model) {
    throw new Error('the notebook has no model');
  }
  model.sharedModel.insertCell(index + 1, {
    cell_type: 'code',
    source: code,
    metadata: {}
  });
  notebook.activeCellIndex = index + 1;
  notebook.mode = 'command';
}

/** Put `code` in the notebook's active cell (made a code cell first). */
export function replaceActiveCell(notebook: Notebook, code: string): void {
  const cell = notebook.activeCell;
  if (!cell) {
    throw new Error('the notebook has no active cell');
  }
  if (cell.model.type !== 'code') {
    NotebookActions.changeCellType(notebook, 'code');
  }
  // changeCellType replaces the cell object, so look the active cell up again.
  notebook.activeCell?.model.sharedModel.setSource(code);
}

/** Listen on `document` for the widget's insert event; returns the remover. */
export function listenForInsert(tracker: INotebookTracker): () => void {
  const onInsert = (event: Event): void => {
    const detail = (event as CustomEvent<IInsertDetail>).detail;
    const target = event.target;
    if (
      !detail ||
      typeof detail !== 'object' ||
      detail.handled ||
      typeof detail.code !== 'string' ||
      !(target instanceof Node)
    ) {
      return;
    }
    try {
      const where = findCell(tracker, target);
      if (!where) {
        return; // not in a notebook we track: the widget falls back to copying
      }
      insertCodeCellBelow(where.panel.content, where.index, detail.code);
      detail.handled = true;
    } catch (error) {
      console.error('codex-magic: could not insert the candidate', error);
    }
  };
  document.addEventListener(INSERT_EVENT, onInsert);
  document.body.dataset.codexMagicInsert = '1';
  return () => {
    document.removeEventListener(INSERT_EVENT, onInsert);
    delete document.body.dataset.codexMagicInsert;
  };
}
