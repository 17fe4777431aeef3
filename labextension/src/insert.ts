/**
 * One-click insertion for the `%%codex` and `%%docstring` output widgets.
 *
 * A widget dispatches `codex-magic:insert` (or, from `%%docstring`,
 * `codex-magic:replace`) on its own root element; this module finds the
 * notebook cell holding that element and inserts a new code cell below it (or
 * makes that cell's source the code). The widget reads `detail.handled` right
 * after `dispatchEvent`, so everything here is synchronous.
 */
import { Cell } from '@jupyterlab/cells';
import {
  INotebookTracker,
  Notebook,
  NotebookActions,
  NotebookPanel
} from '@jupyterlab/notebook';

export const INSERT_EVENT = 'codex-magic:insert';
export const REPLACE_EVENT = 'codex-magic:replace';

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

/** Make cell `index` (the one whose output asked) a code cell holding `code`, and select
 * it. Its outputs stay until it runs again. */
export function replaceCell(
  notebook: Notebook,
  index: number,
  code: string
): void {
  const cell = notebook.widgets[index];
  if (!cell) {
    throw new Error(`the notebook has no cell ${index}`);
  }
  notebook.activeCellIndex = index;
  notebook.mode = 'command';
  replaceActiveCell(notebook, code);
}

/** Listen on `document` for the widgets' insert and replace events; returns the remover. */
export function listenForInsert(tracker: INotebookTracker): () => void {
  const handler = (
    act: (notebook: Notebook, index: number, code: string) => void
  ) => (event: Event): void => {
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
      act(where.panel.content, where.index, detail.code);
      detail.handled = true;
    } catch (error) {
      console.error(`codex-magic: could not handle ${event.type}`, error);
    }
  };
  const onInsert = handler(insertCodeCellBelow);
  const onReplace = handler(replaceCell);
  document.addEventListener(INSERT_EVENT, onInsert);
  document.addEventListener(REPLACE_EVENT, onReplace);
  document.body.dataset.codexMagicInsert = '1';
  document.body.dataset.codexMagicReplace = '1';
  return () => {
    document.removeEventListener(INSERT_EVENT, onInsert);
    document.removeEventListener(REPLACE_EVENT, onReplace);
    delete document.body.dataset.codexMagicInsert;
    delete document.body.dataset.codexMagicReplace;
  };
}
