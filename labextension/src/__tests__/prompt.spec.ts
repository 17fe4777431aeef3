import { PromptBox, promptFromCell } from '../prompt';

const ADD = 'def add(a, b):\n    """Add.\n\n    >>> add(2, 3)\n    5\n    """';

describe('promptFromCell', () => {
  it('takes a def with a docstring, without a leading cell magic', () => {
    expect(promptFromCell(ADD)).toBe(ADD);
    expect(promptFromCell(`%%codex -n 10\n${ADD}\n`)).toBe(ADD);
    expect(promptFromCell(`  \n${ADD}  \n`)).toBe(ADD);
  });

  it("accepts async defs and ''' docstrings", () => {
    const source = "async def f():\n    '''Wait.'''";
    expect(promptFromCell(source)).toBe(source);
  });

  it('refuses cells without a def or without a docstring', () => {
    expect(promptFromCell('x = 1')).toBeNull();
    expect(promptFromCell('def f(x):\n    return x')).toBeNull();
    expect(promptFromCell('"""A module docstring."""')).toBeNull();
    expect(promptFromCell('')).toBeNull();
  });
});

describe('PromptBox', () => {
  it('knows a typed prompt from a filled one, and Ctrl+Enter generates', () => {
    const onGenerate = jest.fn();
    const box = new PromptBox(1, () => undefined, onGenerate);
    const text = box.node.querySelector('textarea')!;
    expect(box.node.querySelector('label')!.htmlFor).toBe(text.id);
    box.fill(ADD);
    expect(box.value).toBe(ADD);
    expect(box.typed).toBe(false);
    text.value = 'def g():\n    """G."""';
    text.dispatchEvent(new Event('input'));
    expect(box.typed).toBe(true);
    text.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', ctrlKey: true }));
    expect(onGenerate).toHaveBeenCalledTimes(1);
    text.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter' }));
    expect(onGenerate).toHaveBeenCalledTimes(1);
  });
});
