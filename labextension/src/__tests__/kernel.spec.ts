import type { Kernel } from '@jupyterlab/services';

import { fetchSchema, runGeneration } from '../kernel';
import { ERROR_MIME, PROGRESS_MIME, RESULT_MIME, SCHEMA_MIME } from '../protocol';
import { SCHEMA } from './fixtures';

interface IFake {
  msg_type: string;
  content: unknown;
}

/** A kernel that answers every request with these IOPub messages, then this reply. */
function fakeKernel(messages: IFake[], status = 'ok', fail?: Error) {
  const sent: string[] = [];
  const kernel = {
    requestExecute(content: { code: string }) {
      sent.push(content.code);
      const future: { onIOPub: (msg: unknown) => void; done?: Promise<unknown> } = {
        onIOPub: () => undefined
      };
      future.done = Promise.resolve().then(() => {
        for (const m of messages) {
          future.onIOPub({ header: { msg_type: m.msg_type }, content: m.content });
        }
        if (fail) {
          throw fail;
        }
        return { content: { status } };
      });
      return future;
    }
  };
  return { sent, kernel: kernel as unknown as Kernel.IKernelConnection };
}

const display = (data: object, msg_type = 'display_data') => ({ msg_type, content: { data } });
const error = (ename: string, evalue: string) => ({ msg_type: 'error', content: { ename, evalue } });
const REQUEST = { prompt: 'def f():\n    """F."""\n', options: { samples: 2 } };

describe('runGeneration', () => {
  it('reports progress and resolves to the result', async () => {
    const progress = { phase: 'sampling', done: 1, total: 2, tokens: 5 };
    const result = { candidates: [], summary: 's' };
    const { sent, kernel } = fakeKernel([
      display({ [PROGRESS_MIME]: progress }),
      display({ [PROGRESS_MIME]: { ...progress, done: 2 } }, 'update_display_data'),
      display({ [RESULT_MIME]: result, 'text/plain': 'codex: ...' })
    ]);
    const seen: number[] = [];
    const outcome = await runGeneration(kernel, REQUEST, p => seen.push(p.done));
    expect(outcome).toEqual({ kind: 'result', result });
    expect(seen).toEqual([1, 2]);
    expect(sent[0]).toContain('_cms.generate(');
  });

  it("turns the kernel's CodexError bundle into its message", async () => {
    const { kernel } = fakeKernel([display({ [ERROR_MIME]: { message: '--samples must be ...' } })]);
    expect(await runGeneration(kernel, REQUEST, () => undefined)).toEqual({
      kind: 'error',
      message: '--samples must be ...'
    });
  });

  it('tells an interrupt (or an aborted request) from an error', async () => {
    const interrupted = fakeKernel([error('KeyboardInterrupt', '')], 'error');
    expect(await runGeneration(interrupted.kernel, REQUEST, () => undefined)).toEqual({
      kind: 'cancelled'
    });
    const aborted = fakeKernel([], 'aborted');
    expect(await runGeneration(aborted.kernel, REQUEST, () => undefined)).toEqual({
      kind: 'cancelled'
    });
  });

  it('says clearly when the kernel lacks codex_magic', async () => {
    const { kernel } = fakeKernel(
      [error('ModuleNotFoundError', "No module named 'codex_magic'")],
      'error'
    );
    const outcome = await runGeneration(kernel, REQUEST, () => undefined);
    expect(outcome.kind).toBe('error');
    expect(outcome.kind === 'error' && outcome.message).toMatch(/codex_magic is not installed/);
  });

  it('resolves, never rejects, when the kernel dies or sends no result', async () => {
    const dead = fakeKernel([], 'ok', new Error('Canceled future'));
    const outcome = await runGeneration(dead.kernel, REQUEST, () => undefined);
    expect(outcome).toEqual({
      kind: 'error',
      message: 'the kernel stopped before answering (Error: Canceled future)'
    });
    const silent = fakeKernel([]);
    expect(await runGeneration(silent.kernel, REQUEST, () => undefined)).toEqual({
      kind: 'error',
      message: 'the kernel finished without a result'
    });
  });
});

describe('fetchSchema', () => {
  it("resolves to the kernel's schema", async () => {
    const { sent, kernel } = fakeKernel([display({ [SCHEMA_MIME]: SCHEMA })]);
    expect(await fetchSchema(kernel)).toEqual({ kind: 'schema', schema: SCHEMA });
    expect(sent).toEqual(['import codex_magic._sidebar as _cms; _cms.schema()']);
  });

  it('says what went wrong otherwise', async () => {
    const missing = fakeKernel([error('ModuleNotFoundError', "No module named 'codex_magic'")]);
    const answer = await fetchSchema(missing.kernel);
    expect(answer.kind === 'error' && answer.message).toMatch(/codex_magic is not installed/);
    const old = fakeKernel([
      error('AttributeError', "module 'codex_magic._sidebar' has no attribute 'schema'")
    ]);
    const answer2 = await fetchSchema(old.kernel);
    expect(answer2.kind === 'error' && answer2.message).toMatch(/older than this sidebar/);
    const none = fakeKernel([]);
    expect(await fetchSchema(none.kernel)).toEqual({
      kind: 'error',
      message: "this kernel's codex_magic sent no options (too old?)"
    });
  });
});
