/**
 * The ranked candidates of a result: the kernel's summary line, then one card
 * per candidate with its badge (sent by the kernel), code, failing examples
 * and the buttons that put it into the notebook.
 */
import { button, el, plural } from './dom';
import { ICandidate, IResult } from './protocol';

/** What a candidate's buttons do; the panel knows the notebook. */
export interface ICandidateActions {
  insert(candidate: ICandidate): void;
  replace(candidate: ICandidate): void;
  copy(candidate: ICandidate): void;
}

// A card shows this many failing examples at most, so one bad candidate stays short.
const MAX_FAILURES = 10;

/** The line under a candidate's badge: its mean log-prob and how many samples gave it. */
export function candidateMeta(candidate: ICandidate): string {
  const logprob =
    candidate.mean_logprob === null || candidate.mean_logprob === undefined
      ? '—'
      : candidate.mean_logprob.toFixed(3);
  return `mean log-prob ${logprob} · ${plural(candidate.count, 'sample')}`;
}

/** A failing doctest example as the user wrote it, with what came back. */
export function failureText(f: ICandidate['failures'][number]): string {
  const got = f.got.trimEnd() || '(nothing)';
  return `>>> ${f.source.trimEnd()}\n${f.reason}\nexpected: ${f.expected.trimEnd()}\ngot: ${got}`;
}

export class CandidateList {
  readonly node = el('div', { class: 'jp-CodexPanel-results' });

  constructor(actions: ICandidateActions) {
    this._actions = actions;
    this.node.append(this._summary, this._list);
  }

  clear(): void {
    this._summary.textContent = '';
    this._list.replaceChildren();
  }

  /** Show a result; returns how many candidates it holds. */
  show(result: IResult): number {
    const candidates = result.candidates ?? [];
    this._summary.textContent = result.summary;
    this._list.replaceChildren(...candidates.map(c => this._card(c)));
    return candidates.length;
  }

  private _card(candidate: ICandidate): HTMLLIElement {
    const item = el('li', { class: 'jp-CodexPanel-candidate' });
    const head = el('div', { class: 'jp-CodexPanel-candidateHead' });
    const { badge } = candidate;
    head.append(
      el('span', { class: 'jp-CodexPanel-rank' }, `#${candidate.rank}`),
      el(
        'span',
        { class: `jp-CodexPanel-badge jp-mod-${badge.kind}`, title: badge.title },
        badge.text
      ),
      el(
        'span',
        {
          class: 'jp-CodexPanel-meta',
          title: 'Mean log-probability per token, and how many samples gave this code'
        },
        candidateMeta(candidate)
      )
    );
    const code = el('pre', {
      class: 'jp-CodexPanel-code',
      tabindex: '0',
      'aria-label': `Candidate ${candidate.rank} code`
    });
    code.textContent = candidate.code;
    item.append(head, code);
    if (candidate.failures.length || candidate.detail) {
      item.append(failures(candidate));
    }
    item.append(this._buttons(candidate));
    return item;
  }

  private _buttons(candidate: ICandidate): HTMLDivElement {
    const { rank } = candidate;
    const buttons = el('div', { class: 'jp-CodexPanel-candidateActions' });
    buttons.append(
      small('Insert', `Insert candidate ${rank} below the active cell`, () =>
        this._actions.insert(candidate)
      ),
      small('Replace', `Replace the active cell with candidate ${rank}`, () =>
        this._actions.replace(candidate)
      ),
      small('Copy', `Copy candidate ${rank} to the clipboard`, () =>
        this._actions.copy(candidate)
      )
    );
    return buttons;
  }

  private _actions: ICandidateActions;
  private _summary = el('p', { class: 'jp-CodexPanel-summary' });
  private _list = el('ol', {
    class: 'jp-CodexPanel-candidates',
    'aria-label': 'Ranked candidates'
  });
}

function small(text: string, aria: string, action: () => void): HTMLButtonElement {
  return button(text, { class: 'jp-CodexPanel-small', 'aria-label': aria }, action);
}

function failures(candidate: ICandidate): HTMLDetailsElement {
  const details = el('details', { class: 'jp-CodexPanel-failures' });
  const n = candidate.failures.length;
  details.append(el('summary', {}, n ? plural(n, 'failing example') : 'details'));
  if (candidate.detail) {
    details.append(el('p', {}, candidate.detail));
  }
  for (const f of candidate.failures.slice(0, MAX_FAILURES)) {
    details.append(el('pre', {}, failureText(f)));
  }
  return details;
}
