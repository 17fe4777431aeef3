/**
 * The options form, built from the schema the kernel sends: one labelled
 * field per option (a checkbox for a bool, a select for a choice), the less
 * used ones under a "More options" disclosure. It holds no option of its own.
 */
import { button, el } from './dom';
import {
  FieldValue,
  IFieldValues,
  initialValue,
  inputAttributes,
  isAdvanced,
  placeholderOf,
  requestOptions
} from './options';
import { IOptionSpec, IOptions, ISchema } from './protocol';

/** A suggestion for a text field: a value and how the list shows it. */
export interface ISuggestion {
  value: string;
  label: string;
}

type Control = HTMLInputElement | HTMLSelectElement;

export class OptionsForm {
  readonly node = el('div', { class: 'jp-CodexPanel-form' });

  /** `onRetry` runs when the user asks to load the options again after a failure. */
  constructor(uid: number, onRetry: () => void) {
    this._uid = uid;
    this._retry = button('Try again', { class: 'jp-CodexPanel-link' }, onRetry);
    this._note.append(this._noteText, ' ', this._retry);
    this._fieldset.disabled = true;
    this.node.append(this._note, this._fieldset);
    this.wait('Loading the options from the kernel…');
  }

  /** The schema the fields were built from; null until one arrives. */
  get schema(): ISchema | null {
    return this._schema;
  }

  /** Show the fields disabled, with a note saying why. */
  wait(note: string): void {
    this._setNote(note, false);
    this._fieldset.disabled = true;
  }

  /** The options could not be read: say why and offer to try again. */
  fail(message: string): void {
    this._setNote(message, true);
    this._fieldset.disabled = true;
  }

  /** Build the fields (unless the schema is the one they show) and enable them. */
  setSchema(schema: ISchema): void {
    if (JSON.stringify(schema) !== JSON.stringify(this._schema)) {
      this._schema = schema;
      this._build(schema);
    }
    this._setNote('', false);
    this._fieldset.disabled = false;
  }

  /** Values a text field offers (the model field's registry names). */
  setSuggestions(name: string, suggestions: ISuggestion[]): void {
    this._suggestions.set(name, suggestions);
    const control = this._controls.get(name);
    if (control) {
      this._attachSuggestions(name, control);
    }
  }

  /** Each field's value by option name. */
  values(): IFieldValues {
    const values: IFieldValues = {};
    for (const [name, control] of this._controls) {
      values[name] = valueOf(control);
    }
    return values;
  }

  /** The request's options, or what is wrong with the fields. */
  options(): { options: IOptions; errors: string[] } {
    return this._schema
      ? requestOptions(this._schema, this.values())
      : { options: {}, errors: [] };
  }

  private _build(schema: ISchema): void {
    this._controls.clear();
    const primary = el('div', { class: 'jp-CodexPanel-options' });
    const advanced = el('div', { class: 'jp-CodexPanel-options' });
    for (const option of schema.options) {
      (isAdvanced(option) ? advanced : primary).append(this._field(option));
    }
    this._fieldset.replaceChildren(primary);
    if (advanced.childElementCount) {
      const more = el('details', { class: 'jp-CodexPanel-more' });
      more.append(el('summary', {}, 'More options'), advanced);
      this._fieldset.append(more);
    }
  }

  private _field(option: IOptionSpec): HTMLElement {
    const control = makeControl(option);
    control.name = option.name;
    control.title = option.help;
    setValue(control, initialValue(option));
    this._controls.set(option.name, control);
    let field: HTMLElement;
    if (option.type === 'bool') {
      field = el('label', { class: 'jp-CodexPanel-check', title: option.help });
      field.append(control, el('span', {}, option.label));
    } else {
      // A label of its own (not around the control), so a select's options stay out of its name.
      control.id = `codex-magic-option-${option.name}-${this._uid}`;
      const wide = option.type === 'str' ? ' jp-mod-wide' : '';
      field = el('div', { class: `jp-CodexPanel-field${wide}`, title: option.help });
      field.append(el('label', { for: control.id }, option.label), control);
    }
    this._attachSuggestions(option.name, control);
    return field;
  }

  private _attachSuggestions(name: string, control: Control): void {
    const suggestions = this._suggestions.get(name);
    if (!suggestions || !(control instanceof HTMLInputElement) || control.type !== 'text') {
      return;
    }
    const id = `codex-magic-${name}-suggestions-${this._uid}`;
    const list = el('datalist', { id });
    for (const s of suggestions) {
      const option = el('option', { value: s.value });
      option.label = s.label;
      list.append(option);
    }
    control.parentElement?.querySelector('datalist')?.remove();
    control.setAttribute('list', id);
    control.after(list);
  }

  private _setNote(text: string, warning: boolean): void {
    this._noteText.textContent = text;
    this._note.hidden = text === '';
    this._note.classList.toggle('jp-mod-warning', warning);
    this._retry.hidden = !warning;
  }

  private _uid: number;
  private _schema: ISchema | null = null;
  private _controls = new Map<string, Control>();
  private _suggestions = new Map<string, ISuggestion[]>();
  private _fieldset = el('fieldset', {
    class: 'jp-CodexPanel-fieldset',
    'aria-label': 'Options'
  });
  private _note = el('p', { class: 'jp-CodexPanel-formNote', role: 'status' });
  private _noteText = el('span');
  private _retry: HTMLButtonElement;
}

function makeControl(option: IOptionSpec): Control {
  if (option.type === 'bool') {
    return el('input', { type: 'checkbox' });
  }
  if (option.type === 'choice') {
    const select = el('select', { class: 'jp-mod-styled' });
    if (option.nullable) {
      select.append(el('option', { value: '' }, placeholderOf(option)));
    }
    for (const choice of option.choices) {
      select.append(el('option', { value: choice }, choice));
    }
    return select;
  }
  return el('input', {
    ...inputAttributes(option),
    class: 'jp-mod-styled',
    placeholder: placeholderOf(option),
    spellcheck: 'false'
  });
}

function valueOf(control: Control): FieldValue {
  if (control instanceof HTMLInputElement && control.type === 'checkbox') {
    return control.checked;
  }
  // A number input reads '' for text that is not a number; keep it an error.
  if (control instanceof HTMLInputElement && control.validity.badInput) {
    return 'NaN';
  }
  return control.value;
}

function setValue(control: Control, value: FieldValue): void {
  if (typeof value === 'boolean') {
    (control as HTMLInputElement).checked = value;
  } else {
    control.value = value;
  }
}
