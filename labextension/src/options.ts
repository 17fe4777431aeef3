/**
 * The options form's rules, from the schema the kernel sends: a field's
 * starting value and attributes, and the request's options from what the
 * user typed. Bounds are checked by the kernel, whose messages name the flag.
 */
import { IOptionSpec, IOptions, ISchema } from './protocol';

/** A field's value: an input's text, or a checkbox's state. */
export type FieldValue = string | boolean;

export interface IFieldValues {
  [name: string]: FieldValue;
}

/** Whether an option goes under "More options" (the kernel says which do). */
export function isAdvanced(option: IOptionSpec): boolean {
  return option.advanced === true;
}

/** The value a field starts with: the option's default ('' when it has none). */
export function initialValue(option: IOptionSpec): FieldValue {
  if (option.type === 'bool') {
    return option.default === true;
  }
  return option.default === null || option.default === undefined ? '' : String(option.default);
}

export function initialValues(schema: ISchema): IFieldValues {
  const values: IFieldValues = {};
  for (const option of schema.options) {
    values[option.name] = initialValue(option);
  }
  return values;
}

/** What an empty field means: the option's own words, else its default. */
export function placeholderOf(option: IOptionSpec): string {
  if (option.placeholder) {
    return option.placeholder;
  }
  return option.default === null || option.default === undefined ? '' : String(option.default);
}

/** An input's attributes for the option (type, bounds, step). */
export function inputAttributes(option: IOptionSpec): { [key: string]: string } {
  if (option.type !== 'int' && option.type !== 'float') {
    return { type: 'text' };
  }
  const attrs: { [key: string]: string } = { type: 'number', step: stepOf(option) };
  if (option.min !== null && option.min !== undefined) {
    attrs.min = String(option.min);
  }
  if (option.max !== null && option.max !== undefined) {
    attrs.max = String(option.max);
  }
  return attrs;
}

/**
 * The arrow keys' step: 1 for integers; for floats a tenth of the range's order
 * of magnitude, at most 1, and fine enough that the default is a whole step.
 */
function stepOf(option: IOptionSpec): string {
  if (option.type === 'int') {
    return '1';
  }
  const range = (option.max ?? 1) - (option.min ?? 0);
  if (!(range > 0) || !Number.isFinite(range)) {
    return 'any';
  }
  let exponent = Math.min(Math.floor(Math.log10(range)) - 1, 0);
  const decimals = String(option.default ?? '').split('.')[1]?.length ?? 0;
  exponent = Math.min(exponent, -decimals);
  return exponent < 0 ? `0.${'0'.repeat(-exponent - 1)}1` : '1';
}

/**
 * The request's options from the fields' values.
 *
 * An empty field is left out, so the kernel uses its default; a number field
 * holding something that is not a number is reported (by its label) instead.
 */
export function requestOptions(
  schema: ISchema,
  values: IFieldValues
): { options: IOptions; errors: string[] } {
  const options: IOptions = {};
  const errors: string[] = [];
  for (const option of schema.options) {
    const value = values[option.name];
    if (value === undefined) {
      continue;
    }
    if (option.type === 'bool') {
      options[option.name] = value === true;
      continue;
    }
    const text = String(value).trim();
    if (text === '') {
      continue;
    }
    if (option.type === 'int' || option.type === 'float') {
      const number = Number(text);
      if (Number.isFinite(number)) {
        options[option.name] = number;
      } else {
        errors.push(`${option.label} must be a number.`);
      }
    } else {
      options[option.name] = text;
    }
  }
  return { options, errors };
}
