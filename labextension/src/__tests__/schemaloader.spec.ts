import type { ISessionContext } from '@jupyterlab/apputils';

import { OptionsForm } from '../optionsform';
import { SCHEMA_MIME } from '../protocol';
import { SchemaLoader } from '../schemaloader';
import { SCHEMA } from './fixtures';

type Slot = [(sender: unknown, args: unknown) => void, unknown];

class FakeSignal {
  connect(slot: Slot[0], thisArg: unknown): boolean {
    this.slots.push([slot, thisArg]);
    return true;
  }
  disconnect(slot: Slot[0], thisArg: unknown): boolean {
    this.slots = this.slots.filter(([s, t]) => s !== slot || t !== thisArg);
    return true;
  }
  emit(args: unknown): void {
    for (const [slot, thisArg] of this.slots) {
      slot.call(thisArg, null, args);
    }
  }
  slots: Slot[] = [];
}

/** A kernel whose answers to the schema request the test sends when it likes. */
function fakeKernel() {
  const answers: (() => void)[] = [];
  const kernel = {
    requestExecute() {
      const future: { onIOPub: (msg: unknown) => void; done?: Promise<unknown> } = {
        onIOPub: () => undefined
      };
      future.done = new Promise(resolve => {
        answers.push(() => {
          future.onIOPub({
            header: { msg_type: 'display_data' },
            content: { data: { [SCHEMA_MIME]: SCHEMA } }
          });
          resolve({ content: { status: 'ok' } });
        });
      });
      return future;
    }
  };
  return { kernel, answers };
}

function fakeSession(kernel: unknown) {
  return {
    ready: Promise.resolve(),
    session: kernel ? { kernel } : null,
    kernelChanged: new FakeSignal(),
    statusChanged: new FakeSignal()
  };
}

const settle = () => new Promise(resolve => setTimeout(resolve, 0));

function setup(shown = true) {
  const form = new OptionsForm(1, () => undefined);
  const { kernel, answers } = fakeKernel();
  const session = fakeSession(kernel);
  const state = { shown };
  const loader = new SchemaLoader(form, () => state.shown);
  loader.follow(session as unknown as ISessionContext, 'demo.ipynb');
  const fieldset = form.node.querySelector('fieldset')!;
  const note = () => form.node.querySelector('.jp-CodexPanel-formNote span')!.textContent;
  return { form, loader, session, answers, state, fieldset, note };
}

describe('SchemaLoader', () => {
  it('asks the kernel only once the panel shows', async () => {
    const t = setup(false);
    await settle();
    expect(t.answers).toHaveLength(0);
    t.state.shown = true;
    void t.loader.load();
    await settle();
    expect(t.answers).toHaveLength(1);
    t.answers[0]();
    await settle();
    expect(t.form.schema).toEqual(SCHEMA);
    expect(t.fieldset.disabled).toBe(false);
    // Idle again: nothing has changed, so nothing is asked.
    t.session.statusChanged.emit('idle');
    await settle();
    expect(t.answers).toHaveLength(1);
  });

  it('reads the options again after a restart, dropping an answer from before it', async () => {
    const t = setup();
    await settle();
    expect(t.answers).toHaveLength(1);
    t.session.statusChanged.emit('restarting');
    expect(t.fieldset.disabled).toBe(true);
    expect(t.note()).toContain('Waiting for the kernel to start');
    t.answers[0](); // the old kernel's answer comes late
    await settle();
    expect(t.form.schema).toBeNull();
    t.session.statusChanged.emit('idle');
    await settle();
    expect(t.answers).toHaveLength(2);
    t.answers[1]();
    await settle();
    expect(t.form.schema).toEqual(SCHEMA);
    expect(t.fieldset.disabled).toBe(false);
  });

  it('reads them again for a new kernel, and says when there is none', async () => {
    const t = setup();
    await settle();
    t.answers[0]();
    await settle();
    t.session.session = null;
    t.session.kernelChanged.emit({ name: 'kernel', oldValue: null, newValue: null });
    await settle();
    expect(t.fieldset.disabled).toBe(true);
    expect(t.note()).toBe('Start a kernel for demo.ipynb to see the options.');
  });

  it('stops following a session it no longer follows', () => {
    const t = setup();
    t.loader.dispose();
    expect(t.session.statusChanged.slots).toHaveLength(0);
    expect(t.session.kernelChanged.slots).toHaveLength(0);
  });
});
