/** The prompt box: a signature and docstring, typed or taken from a cell. */
import { button, el } from './dom';

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

const EXAMPLE = 'def add(a, b):\n    """Add two numbers.\n\n    >>> add(2, 3)\n    5\n    """';

export class PromptBox {
  readonly node = el('div', { class: 'jp-CodexPanel-promptBox' });

  /** `onFromCell`: the "From active cell" link; `onGenerate`: Ctrl+Enter. */
  constructor(uid: number, onFromCell: () => void, onGenerate: () => void) {
    const id = `codex-magic-prompt-${uid}`;
    const helpId = `codex-magic-prompt-help-${uid}`;
    const row = el('div', { class: 'jp-CodexPanel-promptLabel' });
    const fromCell = button(
      'From active cell',
      { class: 'jp-CodexPanel-link', 'aria-label': 'Fill the prompt from the active cell' },
      onFromCell
    );
    row.append(el('label', { for: id }, 'Signature and docstring'), fromCell);
    this._text = el('textarea', {
      id,
      class: 'jp-CodexPanel-prompt',
      rows: '9',
      spellcheck: 'false',
      placeholder: EXAMPLE,
      'aria-describedby': helpId
    });
    this._text.addEventListener('input', () => {
      this._autofilled = false;
    });
    this._text.addEventListener('keydown', (event: KeyboardEvent) => {
      if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        event.stopPropagation();
        onGenerate();
      }
    });
    const help = el(
      'p',
      { id: helpId, class: 'jp-CodexPanel-help' },
      'Ctrl+Enter generates. Doctests (>>> lines) in the docstring rank the candidates.'
    );
    this.node.append(row, this._text, help);
  }

  get value(): string {
    return this._text.value.trim();
  }

  /** Whether the user typed the prompt (an autofilled one may be replaced). */
  get typed(): boolean {
    return this.value !== '' && !this._autofilled;
  }

  /** Put a prompt taken from a cell. */
  fill(prompt: string): void {
    this._text.value = prompt;
    this._autofilled = true;
  }

  focus(): void {
    this._text.focus();
  }

  private _text: HTMLTextAreaElement;
  private _autofilled = false;
}
