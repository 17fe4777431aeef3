/**
 * Running the sidebar's statements in the active notebook's kernel.
 *
 * `execute` sends one statement and hands its display bundles to a callback;
 * `runGeneration` and `fetchSchema` read the bundles of their mime types.
 * Only types are imported from JupyterLab, so the tests can pass a fake kernel.
 */
import type { Kernel, KernelMessage } from '@jupyterlab/services';

import {
  ERROR_MIME,
  IProgress,
  IRequest,
  IResult,
  ISchema,
  PROGRESS_MIME,
  RESULT_MIME,
  SCHEMA_MIME,
  describeKernelError,
  generateCode,
  schemaCode
} from './protocol';

type Bundle = { [mime: string]: unknown };

/** How a statement ended; 'cancelled' is an interrupt (or an aborted request). */
export type Ended =
  | { kind: 'ok' }
  | { kind: 'error'; message: string }
  | { kind: 'cancelled' };

/** How a generation ended. */
export type Outcome = Exclude<Ended, { kind: 'ok' }> | { kind: 'result'; result: IResult };

const DISPLAYS = new Set(['display_data', 'update_display_data', 'execute_result']);

/**
 * Run `code` in the kernel (no history, no stdin) and pass each display bundle to `onData`.
 *
 * Resolves when the kernel has replied; never rejects. The error bundle of a
 * `CodexError` and any Python exception end it as 'error', an interrupt as 'cancelled'.
 */
export async function execute(
  kernel: Kernel.IKernelConnection,
  code: string,
  onData: (data: Bundle) => void
): Promise<Ended> {
  let ended: Ended | null = null;
  const future = kernel.requestExecute({
    code,
    store_history: false,
    allow_stdin: false,
    silent: false,
    stop_on_error: false
  });
  future.onIOPub = (msg: KernelMessage.IIOPubMessage) => {
    const type = msg.header.msg_type;
    if (DISPLAYS.has(type)) {
      const data = (msg.content as { data: Bundle }).data;
      const error = data[ERROR_MIME] as { message?: string } | undefined;
      if (error) {
        ended = { kind: 'error', message: error.message || 'codex_magic failed' };
      } else {
        onData(data);
      }
    } else if (type === 'error') {
      const { ename, evalue } = msg.content as KernelMessage.IErrorMsg['content'];
      ended =
        ename === 'KeyboardInterrupt'
          ? { kind: 'cancelled' }
          : { kind: 'error', message: describeKernelError(ename, evalue) };
    }
  };
  try {
    const reply = await future.done;
    if (!ended && reply.content.status === 'aborted') {
      ended = { kind: 'cancelled' };
    }
  } catch (error) {
    // The future is disposed when the kernel restarts or dies mid-run.
    ended = ended ?? {
      kind: 'error',
      message: `the kernel stopped before answering (${String(error)})`
    };
  }
  return ended ?? { kind: 'ok' };
}

/** Run one generation; `onProgress` gets every progress update. */
export async function runGeneration(
  kernel: Kernel.IKernelConnection,
  request: IRequest,
  onProgress: (progress: IProgress) => void
): Promise<Outcome> {
  let result: IResult | null = null;
  const ended = await execute(kernel, generateCode(request), data => {
    if (data[PROGRESS_MIME]) {
      onProgress(data[PROGRESS_MIME] as IProgress);
    }
    if (data[RESULT_MIME]) {
      result = data[RESULT_MIME] as IResult;
    }
  });
  if (ended.kind !== 'ok') {
    return ended;
  }
  return result
    ? { kind: 'result', result }
    : { kind: 'error', message: 'the kernel finished without a result' };
}

/** The options schema of the kernel's own codex_magic. */
export async function fetchSchema(
  kernel: Kernel.IKernelConnection
): Promise<Exclude<Ended, { kind: 'ok' }> | { kind: 'schema'; schema: ISchema }> {
  let schema: ISchema | null = null;
  const ended = await execute(kernel, schemaCode(), data => {
    if (data[SCHEMA_MIME]) {
      schema = data[SCHEMA_MIME] as ISchema;
    }
  });
  if (ended.kind !== 'ok') {
    return ended;
  }
  return schema
    ? { kind: 'schema', schema }
    : { kind: 'error', message: "this kernel's codex_magic sent no options (too old?)" };
}
