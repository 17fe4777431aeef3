import { CandidateList, candidateMeta, failureText } from '../candidates';
import { ICandidate, IResult } from '../protocol';

function candidate(fields: Partial<ICandidate>): ICandidate {
  return {
    rank: 1,
    code: 'def f():\n    return 1\n',
    body: '    return 1\n',
    passed: 1,
    total: 1,
    status: 'ok',
    detail: '',
    seconds: 0.1,
    failures: [],
    mean_logprob: -0.1234,
    sum_logprob: -1.5,
    count: 1,
    seeds: [1],
    badge: { text: '1/1 passed', kind: 'pass', title: 'Every doctest passed' },
    ...fields
  };
}

const FAILURE = { source: 'f()\n', expected: '2\n', got: '1\n', reason: 'wrong output' };

function result(candidates: ICandidate[]): IResult {
  return {
    candidates,
    n_samples: 3,
    n_correct: 1,
    n_doctests: 1,
    model: 'm',
    temperature: 0.8,
    seed: 1,
    rank_by: 'tests',
    timings: {},
    summary: 'the summary the kernel wrote'
  };
}

describe('CandidateList', () => {
  it("shows the kernel's summary and badges as they were sent", () => {
    const list = new CandidateList({ insert: jest.fn(), replace: jest.fn(), copy: jest.fn() });
    const failing = candidate({
      rank: 2,
      passed: 0,
      status: 'timeout',
      failures: [FAILURE],
      badge: { text: 'whatever the kernel says', kind: 'fail', title: 'its tooltip' }
    });
    expect(list.show(result([candidate({}), failing]))).toBe(2);
    expect(list.node.querySelector('.jp-CodexPanel-summary')!.textContent).toBe(
      'the summary the kernel wrote'
    );
    const badges = [...list.node.querySelectorAll('.jp-CodexPanel-badge')] as HTMLElement[];
    expect(badges.map(b => [b.textContent, b.className, b.title])).toEqual([
      ['1/1 passed', 'jp-CodexPanel-badge jp-mod-pass', 'Every doctest passed'],
      ['whatever the kernel says', 'jp-CodexPanel-badge jp-mod-fail', 'its tooltip']
    ]);
    const cards = list.node.querySelectorAll('.jp-CodexPanel-candidate');
    expect(cards[0].querySelector('details')).toBeNull();
    const details = cards[1].querySelector('details')!;
    expect(details.querySelector('summary')!.textContent).toBe('1 failing example');
    expect(details.querySelector('pre')!.textContent).toBe(failureText(FAILURE));
  });

  it("runs the panel's action for the candidate of the button pressed", () => {
    const actions = { insert: jest.fn(), replace: jest.fn(), copy: jest.fn() };
    const list = new CandidateList(actions);
    const second = candidate({ rank: 2 });
    list.show(result([candidate({}), second]));
    const press = (label: string) =>
      (list.node.querySelector(`button[aria-label="${label}"]`) as HTMLButtonElement).click();
    press('Insert candidate 2 below the active cell');
    press('Replace the active cell with candidate 2');
    press('Copy candidate 2 to the clipboard');
    expect(actions.insert).toHaveBeenCalledWith(second);
    expect(actions.replace).toHaveBeenCalledWith(second);
    expect(actions.copy).toHaveBeenCalledWith(second);
    list.clear();
    expect(list.node.querySelectorAll('li')).toHaveLength(0);
    expect(list.node.querySelector('.jp-CodexPanel-summary')!.textContent).toBe('');
  });
});

describe('candidate texts', () => {
  it('rounds the mean log-prob and counts the samples', () => {
    expect(candidateMeta(candidate({}))).toBe('mean log-prob -0.123 · 1 sample');
    expect(candidateMeta(candidate({ mean_logprob: null, count: 3 }))).toBe(
      'mean log-prob — · 3 samples'
    );
  });

  it('shows a failing example as a doctest with what came back', () => {
    expect(failureText(FAILURE)).toBe('>>> f()\nwrong output\nexpected: 2\ngot: 1');
    expect(failureText({ ...FAILURE, got: '' })).toContain('got: (nothing)');
  });
});
