import { ProgressView, renderProgressBlock } from '../../../harness/cli/progress-view.ts';
import type { RunProgress } from '../../../harness/engine/progress.ts';

const event = (over: Partial<RunProgress> = {}): RunProgress => ({
  run: 'iptables/age-2s',
  phase: 'running',
  elapsedMs: 12_400,
  totalMs: 40_000,
  shares: [
    { pod: 'web-b', requests: 250 },
    { pod: 'web-a', requests: 750 },
  ],
  errors: 2,
  last: 'chaos-start scale',
  ...over,
});

/** A view writing into a string, on a clock the test moves. */
function view(tty: boolean, columns = 100) {
  let out = '';
  let now = 0;
  const v = new ProgressView({ write: (text) => void (out += text), tty, columns: () => columns, now: () => now });
  return { v, out: () => out, at: (ms: number) => void (now = ms), reset: () => void (out = '') };
}

describe('renderProgressBlock', () => {
  it('GIVEN shares so far THEN a heading with phase, elapsed, a time bar, totals and the latest event, then one bar per pod by name', () => {
    expect(renderProgressBlock(event(), 120)).toEqual([
      '[iptables/age-2s] running 12 s of 40 s ██████▎············· 1000 requests, 2 errors · chaos-start scale',
      '  web-a ███████████████       75.0% 750',
      '  web-b █████                 25.0% 250',
    ]);
  });

  it('GIVEN no responses yet THEN it says so; GIVEN a narrow terminal THEN no line is wider than it (a wrapped line would break the redraw)', () => {
    expect(renderProgressBlock(event({ shares: [], errors: 0, last: undefined }), 120)).toEqual(['[iptables/age-2s] running 12 s of 40 s ██████▎············· 0 requests, 0 errors', '  (no responses yet)']);
    for (const line of renderProgressBlock(event(), 30)) expect([...line].length).toBeLessThan(30);
  });

  it('GIVEN more pods than rows THEN the rest are summed in one line', () => {
    const shares = Array.from({ length: 15 }, (_, i) => ({ pod: `web-${i + 1}`, requests: 10 }));
    const block = renderProgressBlock(event({ shares }));
    expect(block).toHaveLength(1 + 12 + 1);
    expect(block[1]).toMatch(/^ {2}web-1 /);
    expect(block[12]).toMatch(/^ {2}web-12 /); // numeric order: web-2 … web-12 after web-1
    expect(block.at(-1)).toBe('  … 3 more pod(s), 30 requests');
  });
});

describe('ProgressView', () => {
  it('GIVEN stderr is not a terminal THEN log lines come out exactly as before and progress adds nothing', () => {
    const { v, out } = view(false);
    v.log('[iptables/age-2s] running: 1 load(s), 1 chaos action(s), 40.0 s');
    v.progress(event());
    v.log('[iptables/age-2s] 10 s of 40 s');
    v.progress(event({ phase: 'done' }));
    v.close();
    expect(v.live).toBe(false);
    expect(out()).toBe('[iptables/age-2s] running: 1 load(s), 1 chaos action(s), 40.0 s\n[iptables/age-2s] 10 s of 40 s\n');
  });

  it('GIVEN a terminal THEN the block is drawn, redrawn in place (cursor up, clear) in one write, at most every 500 ms', () => {
    const { v, out, at, reset } = view(true);
    expect(v.live).toBe(true);
    at(1000);
    v.progress(event());
    const first = renderProgressBlock(event(), 100);
    expect(out()).toBe(`${first.join('\n')}\n`);
    reset();
    at(1300);
    v.progress(event({ elapsedMs: 12_700 }));
    expect(out()).toBe(''); // within 500 ms of the last draw
    at(1500);
    const later = event({ elapsedMs: 13_000, shares: [{ pod: 'web-a', requests: 800 }] });
    v.progress(later);
    expect(out()).toBe(`\x1b[3F\x1b[J${renderProgressBlock(later, 100).join('\n')}\n`);
  });

  it('GIVEN a terminal with a block THEN a log line goes above it and the block is drawn again under it; done takes the block away', () => {
    const { v, out, at, reset } = view(true);
    at(0);
    v.progress(event());
    reset();
    v.log('[iptables/age-2s] chaos at 10.0 s: scaled web 3 → 6');
    const block = renderProgressBlock(event(), 100);
    expect(out()).toBe(`\x1b[3F\x1b[J[iptables/age-2s] chaos at 10.0 s: scaled web 3 → 6\n${block.join('\n')}\n`);
    reset();
    v.progress(event({ phase: 'done' }));
    expect(out()).toBe('\x1b[3F\x1b[J');
    reset();
    v.log('[iptables/age-2s] passed (3/3 checks passed)');
    expect(out()).toBe('[iptables/age-2s] passed (3/3 checks passed)\n');
  });

  it('GIVEN a terminal without a block yet THEN log lines are plain', () => {
    const { v, out } = view(true);
    v.log('run x: 3 run(s)');
    expect(out()).toBe('run x: 3 run(s)\n');
  });
});
