import { OptionsForm } from '../optionsform';
import { SCHEMA } from './fixtures';

function control(form: OptionsForm, label: string): HTMLInputElement | HTMLSelectElement {
  const labels = [...form.node.querySelectorAll('label')];
  const found = labels.find(l => l.textContent === label);
  if (!found) {
    throw new Error(`no field labelled ${label}`);
  }
  return found.htmlFor
    ? form.node.querySelector(`#${found.htmlFor}`)!
    : found.querySelector('input, select')!;
}

describe('OptionsForm', () => {
  it('is disabled with a note until the schema arrives', () => {
    const form = new OptionsForm(1, () => undefined);
    const fieldset = form.node.querySelector('fieldset')!;
    const note = form.node.querySelector('.jp-CodexPanel-formNote') as HTMLElement;
    expect(fieldset.disabled).toBe(true);
    expect(note.hidden).toBe(false);
    expect(note.textContent).toContain('Loading the options from the kernel');
    expect(form.options()).toEqual({ options: {}, errors: [] });

    form.setSchema(SCHEMA);
    expect(fieldset.disabled).toBe(false);
    expect(note.hidden).toBe(true);
  });

  it('builds one labelled field per option, of the kind its type asks for', () => {
    const form = new OptionsForm(1, () => undefined);
    form.setSchema(SCHEMA);
    expect(form.node.querySelectorAll('input, select')).toHaveLength(SCHEMA.options.length);
    const samples = control(form, 'Samples') as HTMLInputElement;
    expect([samples.type, samples.value, samples.min, samples.max]).toEqual(['number', '10', '1', '256']);
    expect(samples.title).toBe('help of samples');
    const seed = control(form, 'Seed') as HTMLInputElement;
    expect([seed.value, seed.placeholder]).toEqual(['', 'random']);
    expect((control(form, 'Use earlier cells') as HTMLInputElement).type).toBe('checkbox');
    expect((control(form, 'Run doctests') as HTMLInputElement).checked).toBe(true);
    const rank = control(form, 'Rank by') as HTMLSelectElement;
    expect(rank.tagName).toBe('SELECT');
    expect([...rank.options].map(o => o.value)).toEqual(['tests', 'logprob']);
    expect(rank.value).toBe('tests');
  });

  it('puts the less used options under a "More options" disclosure', () => {
    const form = new OptionsForm(1, () => undefined);
    form.setSchema(SCHEMA);
    const more = form.node.querySelector('details')!;
    expect(more.querySelector('summary')!.textContent).toBe('More options');
    expect(more.open).toBe(false);
    const inside = [...more.querySelectorAll('input, select')].map(c => (c as HTMLInputElement).name);
    expect(inside).toEqual(['top_p', 'timeout', 'rank', 'tests']);
  });

  it('turns what the user set into the request options', () => {
    const form = new OptionsForm(1, () => undefined);
    form.setSchema(SCHEMA);
    control(form, 'Samples').value = '2';
    control(form, 'Rank by').value = 'logprob';
    (control(form, 'Use earlier cells') as HTMLInputElement).checked = true;
    expect(form.options()).toEqual({
      options: { samples: 2, top_p: 0.95, timeout: 5, rank: 'logprob', tests: true, context: true },
      errors: []
    });
  });

  it('keeps what the user typed when the kernel sends the same schema again', () => {
    const form = new OptionsForm(1, () => undefined);
    form.setSchema(SCHEMA);
    control(form, 'Samples').value = '2';
    form.wait('Waiting for the kernel to start…');
    expect(form.node.querySelector('fieldset')!.disabled).toBe(true);
    form.setSchema(JSON.parse(JSON.stringify(SCHEMA)));
    expect(control(form, 'Samples').value).toBe('2');
    // Another schema (another codex_magic) starts again from its defaults.
    form.setSchema({ ...SCHEMA, version: '9.9.9' });
    expect(control(form, 'Samples').value).toBe('10');
  });

  it('says why the options could not be read, and offers to try again', () => {
    const retry = jest.fn();
    const form = new OptionsForm(1, retry);
    form.fail("codex_magic is not installed in this notebook's kernel");
    const note = form.node.querySelector('.jp-CodexPanel-formNote')!;
    expect(note.querySelector('span')!.textContent).toBe(
      "codex_magic is not installed in this notebook's kernel"
    );
    expect(note.classList.contains('jp-mod-warning')).toBe(true);
    const button = note.querySelector('button')!;
    expect(button.hidden).toBe(false);
    button.click();
    expect(retry).toHaveBeenCalledTimes(1);
  });

  it('offers suggestions for a text field, before or after the schema arrives', () => {
    const form = new OptionsForm(7, () => undefined);
    form.setSuggestions('model', [{ value: 'gemma', label: 'gemma: small' }]);
    form.setSchema(SCHEMA);
    const model = control(form, 'Model') as HTMLInputElement;
    const list = () => form.node.querySelector(`#${model.getAttribute('list')}`)!;
    expect([...list().querySelectorAll('option')].map(o => o.value)).toEqual(['gemma']);
    form.setSuggestions('model', [{ value: 'a', label: 'a' }, { value: 'b', label: 'b' }]);
    expect(form.node.querySelectorAll('datalist')).toHaveLength(1);
    expect([...list().querySelectorAll('option')].map(o => o.value)).toEqual(['a', 'b']);
  });
});
