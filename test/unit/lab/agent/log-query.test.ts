import { ByteBudget, labUnsupported, type LogQuery, LogRequestError, parseLogQuery, tailOffset } from '../../../../harness/lab/agent/log-query.ts';

const q = (query: string) => parseLogQuery(new URLSearchParams(query));
const rejection = (query: string): { status: number; message: string } => {
  try {
    q(query);
  } catch (error) {
    if (error instanceof LogRequestError) return { status: error.status, message: error.message };
    throw error;
  }
  throw new Error(`${query} was accepted`);
};

describe('parseLogQuery (the kubelet /containerLogs query)', () => {
  it('GIVEN no parameters THEN the whole log, no follow, stream All', () => {
    expect(q('')).toEqual({ follow: false, previous: false, timestamps: false, stream: 'All' });
  });

  it('GIVEN what the API server forwards THEN each option is decoded, booleans as Go parses them', () => {
    expect(q('follow=true&tailLines=3&limitBytes=100&previous=1&timestamps=False&stream=All')).toEqual({
      follow: true, previous: true, timestamps: false, tailLines: 3, limitBytes: 100, stream: 'All',
    });
    expect(q('sinceSeconds=5').sinceSeconds).toBe(5);
    expect(q('sinceTime=2026-12-06T17:00:00Z').sinceTime).toBe('2026-12-06T17:00:00Z');
  });

  it('GIVEN the old tail parameter THEN it stands for tailLines, and tail=all for no limit', () => {
    expect(q('tail=7').tailLines).toBe(7);
    expect(q('tail=all&tailLines=3').tailLines).toBeUndefined();
  });

  it('GIVEN invalid values THEN 400 for what does not decode, 422 for what does not validate', () => {
    expect(rejection('follow=yes')).toMatchObject({ status: 400, message: expect.stringContaining('follow=yes') });
    expect(rejection('tailLines=x')).toMatchObject({ status: 400 });
    expect(rejection('tailLines=-1')).toMatchObject({ status: 422, message: expect.stringContaining('tailLines') });
    expect(rejection('limitBytes=0')).toMatchObject({ status: 422, message: expect.stringContaining('limitBytes') });
    expect(rejection('sinceSeconds=0')).toMatchObject({ status: 422 });
    expect(rejection('sinceSeconds=5&sinceTime=2026-12-06T17:00:00Z')).toMatchObject({ status: 422, message: expect.stringContaining('at most one') });
    expect(rejection('stream=Both')).toMatchObject({ status: 422 });
    expect(rejection('stream=Stdout&tailLines=1')).toMatchObject({ status: 422, message: expect.stringContaining('mutually exclusive') });
  });
});

describe('labUnsupported', () => {
  const base: LogQuery = { follow: false, previous: false, timestamps: false, stream: 'All' };
  it('GIVEN options that need per-line times or streams THEN each is refused by name; follow, tail and limit are not', () => {
    expect(labUnsupported({ ...base, follow: true, tailLines: 1, limitBytes: 5 })).toBeUndefined();
    expect(labUnsupported({ ...base, timestamps: true })).toMatch(/^timestamps is not supported/);
    expect(labUnsupported({ ...base, sinceSeconds: 10 })).toMatch(/^sinceSeconds is not supported/);
    expect(labUnsupported({ ...base, sinceTime: '2026-12-06T17:00:00Z' })).toMatch(/^sinceTime is not supported/);
    expect(labUnsupported({ ...base, stream: 'Stderr' })).toMatch(/^stream=Stderr is not supported/);
  });
});

describe('tailOffset', () => {
  const tail = (text: string, lines: number, chunk?: number) => {
    const bytes = Buffer.from(text);
    return text.slice(tailOffset(bytes.length, lines, (position, length) => bytes.subarray(position, position + length), chunk));
  };

  it('GIVEN lines ending in a newline THEN the last N lines, the final newline not counting as an empty line', () => {
    expect(tail('a\nb\nc\n', 2)).toBe('b\nc\n');
    expect(tail('a\nb\nc\n', 1)).toBe('c\n');
    expect(tail('a\nb\nc\n', 3)).toBe('a\nb\nc\n');
    expect(tail('a\nb\nc\n', 10)).toBe('a\nb\nc\n');
  });

  it('GIVEN a last line still being written (no newline) THEN it counts as a line', () => {
    expect(tail('a\nb\nc', 1)).toBe('c');
    expect(tail('a\nb\nc', 2)).toBe('b\nc');
  });

  it('GIVEN tailLines=0 or an empty file THEN nothing', () => {
    expect(tail('a\nb\n', 0)).toBe('');
    expect(tail('', 3)).toBe('');
  });

  it('GIVEN a file read in chunks smaller than a line THEN the same answer as in one read', () => {
    const text = Array.from({ length: 50 }, (_, i) => `line ${i} ${'x'.repeat(i)}`).join('\n') + '\n';
    for (const chunk of [1, 3, 7, 64, 4096]) expect(tail(text, 5, chunk)).toBe(tail(text, 5));
    expect(tail(text, 5).split('\n').slice(0, -1)).toEqual(Array.from({ length: 5 }, (_, i) => `line ${45 + i} ${'x'.repeat(45 + i)}`));
  });
});

describe('ByteBudget (limitBytes)', () => {
  it('GIVEN a limit THEN chunks pass whole until the one that crosses it, which is cut there', () => {
    const budget = new ByteBudget(5);
    expect(budget.take(Buffer.from('abc')).toString()).toBe('abc');
    expect(budget.exhausted).toBe(false);
    expect(budget.take(Buffer.from('defg')).toString()).toBe('de');
    expect(budget.exhausted).toBe(true);
    expect(budget.take(Buffer.from('h')).length).toBe(0);
  });

  it('GIVEN no limit THEN everything passes', () => {
    const budget = new ByteBudget(undefined);
    expect(budget.take(Buffer.alloc(1 << 20)).length).toBe(1 << 20);
    expect(budget.exhausted).toBe(false);
  });
});
