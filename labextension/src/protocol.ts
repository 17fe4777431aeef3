/**
 * What the sidebar and the kernel say to each other.
 *
 * The kernel side is `codex_magic._sidebar`: the sidebar sends it Python
 * statements, and it answers with display messages of the mime types below.
 * The shapes here mirror `codex_magic/render.py` (results) and
 * `codex_magic/options.py` `schema()` (the options form); the badge, the
 * summary and every option's default come from there, never from here.
 */

export const PROGRESS_MIME = 'application/vnd.codex-magic.progress+json';
export const RESULT_MIME = 'application/vnd.codex-magic.result+json';
export const ERROR_MIME = 'application/vnd.codex-magic.error+json';
export const SCHEMA_MIME = 'application/vnd.codex-magic.schema+json';

const IMPORT = 'import codex_magic._sidebar as _cms; ';

export type OptionValue = number | string | boolean;

/** One option of the form, as `options.schema()` declares it. */
export interface IOptionSpec {
  name: string;
  label: string;
  flag: string;
  type: 'int' | 'float' | 'str' | 'bool' | 'choice';
  default: OptionValue | null;
  nullable: boolean;
  placeholder: string; // what an empty value means, e.g. "random"
  advanced?: boolean; // shown under "More options"
  help: string;
  min: number | null;
  max: number | null;
  min_exclusive: boolean;
  choices: string[];
}

export interface ISchema {
  version: string;
  options: IOptionSpec[];
}

/** Options by their schema names; an absent one takes the kernel's default. */
export interface IOptions {
  [name: string]: OptionValue;
}

export interface IRequest {
  prompt: string;
  options: IOptions;
}

export interface IProgress {
  phase: string; // "loading" | "sampling" | "testing" | "done"
  done: number;
  total: number;
  tokens: number;
}

export interface IFailure {
  source: string;
  expected: string;
  got: string;
  reason: string;
}

export interface IBadge {
  text: string;
  kind: 'pass' | 'fail' | 'none';
  title: string;
}

/** `render.candidate_json`. */
export interface ICandidate {
  rank: number;
  code: string;
  body: string;
  passed: number;
  total: number;
  status: string;
  detail: string;
  seconds: number;
  failures: IFailure[];
  mean_logprob: number | null;
  sum_logprob: number | null;
  count: number;
  seeds: number[];
  badge: IBadge;
}

/** `render.result_json`. */
export interface IResult {
  candidates: ICandidate[];
  n_samples: number;
  n_correct: number;
  n_doctests: number;
  model: string;
  temperature: number;
  seed: number;
  rank_by: string;
  timings: { [key: string]: number };
  summary: string;
}

/** The Python statement that runs a request: it travels as a JSON string literal. */
export function generateCode(request: IRequest): string {
  // A JSON string literal is also a valid Python string literal.
  const literal = JSON.stringify(JSON.stringify(request));
  return `${IMPORT}_cms.generate(${literal})`;
}

/** The Python statement that publishes the options schema. */
export function schemaCode(): string {
  return `${IMPORT}_cms.schema()`;
}

/** The one-line message for a Python exception raised in the kernel. */
export function describeKernelError(ename: string, evalue: string): string {
  if (ename === 'ModuleNotFoundError' && /codex_magic/.test(evalue)) {
    return (
      "codex_magic is not installed in this notebook's kernel: " +
      'pip install codex-magic in the environment the kernel runs in.'
    );
  }
  if (ename === 'AttributeError' && /codex_magic\._sidebar/.test(evalue)) {
    return (
      "the codex_magic in this notebook's kernel is older than this sidebar: " +
      'pip install -U codex-magic in the environment the kernel runs in.'
    );
  }
  return evalue ? `${ename}: ${evalue}` : ename;
}
