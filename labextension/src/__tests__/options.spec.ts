import {
  initialValues,
  inputAttributes,
  isAdvanced,
  placeholderOf,
  requestOptions
} from '../options';
import { SCHEMA } from './fixtures';

const byName = (name: string) => SCHEMA.options.find(o => o.name === name)!;

describe('the form from the schema', () => {
  it("starts every field at the kernel's default", () => {
    expect(initialValues(SCHEMA)).toEqual({
      samples: '10',
      temperature: '',
      top_p: '0.95',
      seed: '',
      model: '',
      timeout: '5',
      rank: 'tests',
      tests: true,
      context: false
    });
  });

  it('says what an empty field means', () => {
    expect(placeholderOf(byName('seed'))).toBe('random');
    expect(placeholderOf(byName('samples'))).toBe('10');
    expect(placeholderOf(byName('model'))).toBe('the default');
  });

  it('gives number inputs their bounds and a step the default is a whole number of', () => {
    expect(inputAttributes(byName('samples'))).toEqual({
      type: 'number',
      step: '1',
      min: '1',
      max: '256'
    });
    expect(inputAttributes(byName('temperature')).step).toBe('0.1');
    expect(inputAttributes(byName('top_p')).step).toBe('0.01');
    expect(inputAttributes(byName('timeout')).step).toBe('1');
    expect(inputAttributes(byName('seed'))).toEqual({ type: 'number', step: '1', min: '0' });
    expect(inputAttributes(byName('model'))).toEqual({ type: 'text' });
  });

  it('keeps the common options in sight and the rest under "More options"', () => {
    const advanced = SCHEMA.options.filter(isAdvanced).map(o => o.name);
    expect(advanced).toEqual(['top_p', 'timeout', 'rank', 'tests']);
  });
});

describe('requestOptions', () => {
  it('sends the defaults as they stand, leaving empty fields out', () => {
    expect(requestOptions(SCHEMA, initialValues(SCHEMA))).toEqual({
      options: { samples: 10, top_p: 0.95, timeout: 5, rank: 'tests', tests: true, context: false },
      errors: []
    });
  });

  it('parses numbers, trims text and sends checkboxes as booleans', () => {
    const values = {
      ...initialValues(SCHEMA),
      samples: ' 3 ',
      temperature: '0.5',
      seed: '0',
      model: ' gemma-3-270m ',
      rank: 'logprob',
      tests: false,
      context: true
    };
    expect(requestOptions(SCHEMA, values).options).toEqual({
      samples: 3,
      temperature: 0.5,
      top_p: 0.95,
      seed: 0,
      model: 'gemma-3-270m',
      timeout: 5,
      rank: 'logprob',
      tests: false,
      context: true
    });
  });

  it('leaves an emptied field to the kernel, whether it is nullable or not', () => {
    const { options } = requestOptions(SCHEMA, { samples: '', seed: '  ', model: '' });
    expect(options).toEqual({});
  });

  it('reports numbers it cannot read, and leaves bounds to the kernel', () => {
    const { options, errors } = requestOptions(SCHEMA, {
      samples: 'ten',
      top_p: 'NaN',
      seed: '-1',
      timeout: '1e400'
    });
    expect(errors).toEqual([
      'Samples must be a number.',
      'Top-p must be a number.',
      'Timeout (s) must be a number.'
    ]);
    expect(options).toEqual({ seed: -1 });
  });

  it('sends no option the schema does not name', () => {
    expect(requestOptions(SCHEMA, { n_samples: '3' }).options).toEqual({});
  });
});
