import type { Kernel } from '@jupyterlab/services';

import { RunControls, describeProgress } from '../run';

describe('describeProgress', () => {
  it('names the phase and counts', () => {
    expect(describeProgress({ phase: 'loading', done: 0, total: 1, tokens: 0 })).toBe(
      'Loading the model'
    );
    expect(describeProgress({ phase: 'sampling', done: 3, total: 10, tokens: 412 })).toBe(
      'Sampling 3/10 · 412 tokens'
    );
    expect(describeProgress({ phase: 'testing', done: 1, total: 2, tokens: 0 })).toBe(
      'Running doctests 1/2'
    );
    expect(describeProgress({ phase: 'new', done: 0, total: 0, tokens: 0 })).toBe('new');
  });
});

describe('RunControls', () => {
  it('enables Cancel only during a run, and Cancel interrupts the kernel', async () => {
    const controls = new RunControls(() => undefined, () => undefined);
    const [generate, cancel] = [...controls.buttons.querySelectorAll('button')];
    controls.canGenerate = true;
    expect([generate.disabled, cancel.disabled, controls.progress.hidden]).toEqual([false, true, true]);
    const kernel = { interrupt: jest.fn(() => Promise.resolve()) };
    controls.start(kernel as unknown as Kernel.IKernelConnection);
    expect([generate.disabled, cancel.disabled, controls.progress.hidden]).toEqual([true, false, false]);
    controls.canGenerate = true; // a notebook change mid-run keeps Generate off
    expect(generate.disabled).toBe(true);
    await controls.cancel();
    expect(kernel.interrupt).toHaveBeenCalledTimes(1);
    controls.end();
    expect([generate.disabled, cancel.disabled, controls.progress.hidden]).toEqual([false, true, true]);
  });
});
