import { badInput, environmentError, exitCodeFor, formatError } from '../../../harness/core/errors.ts';
import { commandLine, shellQuote } from '../../../harness/core/exec.ts';

describe('errors', () => {
  it('maps every kind to the CLI contract exit code', () => {
    expect(exitCodeFor(badInput('x'))).toBe(2);
    expect(exitCodeFor(environmentError('x'))).toBe(3);
    expect(exitCodeFor(new Error('unexpected'))).toBe(3);
  });

  it('GIVEN an error with where, hint and a cause WHEN formatted THEN a person sees all three', () => {
    const error = environmentError('kube-proxy failed', { where: 'node lab-node-1', hint: 'read its log', cause: new Error('exit 1') });
    expect(formatError(error)).toBe('error: kube-proxy failed\n  where: node lab-node-1\n  fix:   read its log\n  cause: exit 1');
  });
});

describe('commandLine', () => {
  it('quotes only what a shell would misread, so the printed command can be pasted', () => {
    expect(shellQuote('--proxy-mode=iptables')).toBe('--proxy-mode=iptables');
    expect(shellQuote("it's here")).toBe(`'it'\\''s here'`);
    expect(commandLine(['ip', 'netns', 'exec', 'kth-a-n1', 'sh', '-c', 'echo $HOME'])).toBe(`ip netns exec kth-a-n1 sh -c 'echo $HOME'`);
  });
});
