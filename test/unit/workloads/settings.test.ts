import { HarnessError } from '../../../harness/core/errors.ts';
import { parseHttpServerOptions } from '../../../harness/workloads/http/options.ts';
import { parseGrpcServerOptions } from '../../../harness/workloads/grpc/options.ts';
import { httpSettings } from '../../../harness/workloads/http/options.ts';
import { rawSettings } from '../../../harness/workloads/settings.ts';

function failure(action: () => unknown): HarnessError {
  try {
    action();
  } catch (error) {
    if (error instanceof HarnessError) return error;
    throw error;
  }
  throw new Error('expected a HarnessError');
}

describe('server settings', () => {
  it('GIVEN no settings WHEN parsed THEN the defaults apply (0.0.0.0:8080, 5s keep-alive, drain on)', () => {
    const config = parseHttpServerOptions({});
    expect(config).toMatchObject({
      host: '0.0.0.0',
      port: 8080,
      keepAliveTimeoutMs: 5000,
      maxRequestsPerConnection: 0,
      maxConnectionAgeMs: 0,
      errorRate: 0,
      h2c: true,
      drain: true,
      drainTimeoutMs: 30_000,
    });
    expect(config.pod).not.toBe('');
    expect(parseGrpcServerOptions({})).toMatchObject({ port: 9090, metricsPort: 9091, maxConnectionAgeMs: 0 });
  });

  it.each([
    ['5000', 5000],
    [250, 250],
    ['2s', 2000],
    ['1.5m', 90_000],
  ])('GIVEN keep-alive timeout %p WHEN parsed THEN it is %p ms', (value, ms) => {
    expect(parseHttpServerOptions({ keepAliveTimeoutMs: value }).keepAliveTimeoutMs).toBe(ms);
  });

  it('GIVEN a negative keep-alive timeout WHEN parsed THEN exit-2 error names the setting, its env var and flag, and the fix', () => {
    const error = failure(() => parseHttpServerOptions({ keepAliveTimeoutMs: '-1' }));
    expect(error.exitCode).toBe(2);
    expect(error.message).toBe('keep-alive timeout: -1 is negative; set KTH_KEEPALIVE_TIMEOUT/--keepalive-timeout to ≥ 0');
    expect(error.where).toBe('--keepalive-timeout');
  });

  it('GIVEN several bad settings WHEN parsed THEN every problem is reported at once', () => {
    const error = failure(() => parseHttpServerOptions({ port: '70000', errorRate: '1.5', maxRequestsPerConnection: '2.5', keepAliveTimeoutMs: 'soon' }));
    expect(error.message.split('\n')).toEqual([
      'port: 70000 is above 65535; set KTH_PORT/--port to a whole number from 0 to 65535',
      "keep-alive timeout: 'soon' is not a duration; set KTH_KEEPALIVE_TIMEOUT/--keepalive-timeout to milliseconds or a duration such as 500ms, 5s, 2m",
      'max requests per connection: 2.5 is not a whole number; set KTH_MAX_REQUESTS_PER_CONNECTION/--max-requests-per-connection to a whole number ≥ 0',
      'error rate: 1.5 is outside 0..1; set KTH_ERROR_RATE/--error-rate to a fraction from 0 to 1, e.g. 0.05',
    ]);
    expect(error.where).toBe('--port, --keepalive-timeout, --max-requests-per-connection, --error-rate');
  });

  it('GIVEN a boolean env value that is neither true nor false WHEN parsed THEN the message says how to set it', () => {
    const error = failure(() => parseGrpcServerOptions({ drain: 'maybe' }));
    expect(error.message).toBe("drain: 'maybe' is not true or false; set KTH_DRAIN to true or false (or pass --no-drain)");
  });

  it('GIVEN an unknown programmatic setting WHEN parsed THEN it is refused by name', () => {
    expect(failure(() => parseHttpServerOptions({ keepAlive: 5 } as never)).message).toBe('unknown http server setting(s): keepAlive');
  });

  it('GIVEN a flag and an env var for the same setting WHEN collected THEN the flag wins and env fills the rest', () => {
    const raw = rawSettings(httpSettings, (key) => (key === 'port' ? '1234' : undefined), {
      KTH_PORT: '9999',
      KTH_KEEPALIVE_TIMEOUT: '30s',
      POD_NAME: 'web-0',
    });
    expect(raw).toEqual({ port: '1234', keepAliveTimeoutMs: '30s', pod: 'web-0' });
    expect(parseHttpServerOptions(raw)).toMatchObject({ port: 1234, keepAliveTimeoutMs: 30_000, pod: 'web-0' });
  });
});
