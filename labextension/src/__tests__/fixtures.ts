/** A schema of every option type, in the shape `options.schema()` sends (values made up). */
import { IOptionSpec, ISchema } from '../protocol';

function spec(name: string, fields: Partial<IOptionSpec>): IOptionSpec {
  return {
    name,
    label: name,
    flag: `--${name}`,
    type: 'int',
    default: null,
    nullable: false,
    placeholder: '',
    help: `help of ${name}`,
    min: null,
    max: null,
    min_exclusive: false,
    choices: [],
    ...fields
  };
}

export const SCHEMA: ISchema = {
  version: '0.0.0',
  options: [
    spec('samples', { label: 'Samples', default: 10, min: 1, max: 256 }),
    spec('temperature', {
      label: 'Temperature',
      type: 'float',
      nullable: true,
      placeholder: 'per model',
      min: 0,
      max: 2
    }),
    spec('top_p', {
      label: 'Top-p',
      type: 'float',
      default: 0.95,
      min: 0,
      max: 1,
      min_exclusive: true,
      advanced: true
    }),
    spec('seed', { label: 'Seed', nullable: true, placeholder: 'random', min: 0 }),
    spec('model', { label: 'Model', type: 'str', nullable: true, placeholder: 'the default' }),
    spec('timeout', { label: 'Timeout (s)', type: 'float', default: 5, min: 0, max: 600, advanced: true }),
    spec('rank', {
      label: 'Rank by',
      type: 'choice',
      default: 'tests',
      choices: ['tests', 'logprob'],
      advanced: true
    }),
    spec('tests', { label: 'Run doctests', type: 'bool', default: true, advanced: true }),
    spec('context', { label: 'Use earlier cells', type: 'bool', default: false })
  ]
};
