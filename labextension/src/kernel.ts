/**
 * Running a generation in the active notebook's kernel.
 *
 * The kernel side is `codex_magic._sidebar.generate`: it reuses the model the
 * kernel already loaded for `%%codex`, and reports through display messages
 * with codex-magic mime types, which this module turns into callbacks.
 */
import { Kernel, KernelMessage } from '@jupyterlab/services';

export const PROGRESS_MIME = 'application/vnd.codex-magic.progress+json';
export const RESULT_MIME = 'application/vnd.codex-magic.result+json';
export const ERROR_MIME = 'application/vnd.codex-magic.error+json';

export interface IOptions {
  samples?: number;
  temperature?: number;
  max_tokens?: number;
  seed?: number;
  model?: string;
  context?: boolean;
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

export interface IVerdict {
  passed: number;
  total: number;
  status: string;
  detail: string;
  failures: { source: string; expected: string; got: string; reason: string }[];
}

export interface ICandidate {
  rank: number;
  code: string;
  body: string;
  verdict: IVerdict;
  mean_logprob: number | null;
  sum_logprob: number | null;
  count: number;
  passed: number;
  total: number;
}

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
}

/** How a run ended. */
export type Outcome =
  | { kind: 'result'; result: IResult }
  | { kind: 'error'; message: string }
  | { kind: 'cancelled' };

/** The Python statement the sidebar sends: the request travels as a JSON string literal. */
export function generateCode(request: IRequest): string {
  // A JSON string literal is also a valid Python string literal.
  const literal = JSON.stringify(JSON.stringify(request));
  return `import codex_magic._sidebar as _cms; _cms.generate(${literal})`;
}

/** The one-line message for a Python exception raised in the kernel. */
export function describeKernelError(ename: string, evalue: string): string {
  if (ename === 'ModuleNotFoundError' && /codex_magic/.test(evalue)) {
    return (
      "codex_magic is not installed in this notebook's kernel: " +
      'pip install codex-magic in the environment the kernel runs in.'
    );
  }
  return evalue ? `${ename}: ${evalue}` : ename;
}

/**
 * Run one generation; `onProgress` gets every progress update.
 *
 * Resolves when the kernel has replied; never rejects for errors raised by
 * the kernel code (they become an 'error' outcome).
 */
export async function runGeneration(
  kernel: Kernel.IKernelConnection,
  request: IRequest,
  onProgress: (progress: IProgress) => void
): Promise<Outcome> {
  let outcome: Outcome | null = null;
  const future = kernel.requestExecute({
    code: generateCode(request),
    store_history: false,
    allow_stdin: false,
    silent: false,
    stop_on_error: false
  });
  future.onIOPub = (msg: KernelMessage.IIOPubMessage) => {
    if (
      KernelMessage.isDisplayDataMsg(msg) ||
      KernelMessage.isUpdateDisplayDataMsg(msg) ||
      KernelMessage.isExecuteResultMsg(msg)
    ) {
      const data = msg.content.data;
      if (data[PROGRESS_MIME]) {
        onProgress(data[PROGRESS_MIME] as unknown as IProgress);
      }
      if (data[RESULT_MIME]) {
        outcome = { kind: 'result', result: data[RESULT_MIME] as unknown as IResult };
      }
      if (data[ERROR_MIME]) {
        const message = (data[ERROR_MIME] as { message?: string }).message;
        outcome = { kind: 'error', message: message || 'codex_magic failed' };
      }
    } else if (KernelMessage.isErrorMsg(msg)) {
      const { ename, evalue } = msg.content;
      outcome =
        ename === 'KeyboardInterrupt'
          ? { kind: 'cancelled' }
          : { kind: 'error', message: describeKernelError(ename, evalue) };
    }
  };
  try {
    const reply = await future.done;
    if (!outcome && reply.content.status === 'aborted') {
      outcome = { kind: 'cancelled' };
    }
  } catch (error) {
    // The future is disposed when the kernel restarts or dies mid-run.
    outcome = outcome ?? {
      kind: 'error',
      message: `the kernel stopped before answering (${String(error)})`
    };
  }
  return (
    outcome ?? {
      kind: 'error',
      message: 'the kernel finished without a result'
    }
  );
}
