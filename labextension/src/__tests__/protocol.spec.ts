import { describeKernelError, generateCode, schemaCode } from '../protocol';

describe('generateCode', () => {
  it('sends the request as a string literal Python reads back as the same JSON', () => {
    const request = {
      prompt: 'def f(s):\n    """Quotes \' " \\ \\n, é ✓ 🐍, U+2028 \u2028 end."""\n',
      options: { samples: 3, model: 'x', context: true }
    };
    const code = generateCode(request);
    const match = /^import codex_magic\._sidebar as _cms; _cms\.generate\((.*)\)$/s.exec(code);
    expect(match).not.toBeNull();
    // A JSON string literal is a Python string literal with the same value.
    expect(JSON.parse(JSON.parse(match![1]))).toEqual(request);
    expect(code).not.toContain('\n');
  });
});

describe('schemaCode', () => {
  it('asks the kernel for its schema', () => {
    expect(schemaCode()).toBe('import codex_magic._sidebar as _cms; _cms.schema()');
  });
});

describe('describeKernelError', () => {
  it('says how to install codex_magic when the kernel lacks it', () => {
    const message = describeKernelError('ModuleNotFoundError', "No module named 'codex_magic'");
    expect(message).toMatch(/^codex_magic is not installed in this notebook's kernel/);
    expect(message).toContain('pip install codex-magic');
  });

  it('passes other errors on as "name: value"', () => {
    expect(describeKernelError('ModuleNotFoundError', "No module named 'numpy'")).toBe(
      "ModuleNotFoundError: No module named 'numpy'"
    );
    expect(describeKernelError('ValueError', 'bad')).toBe('ValueError: bad');
    expect(describeKernelError('SystemExit', '')).toBe('SystemExit');
  });
});
