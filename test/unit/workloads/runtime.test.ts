import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HarnessError } from '../../../harness/core/errors.ts';
import { goServerBinary, goServerSourceHash, goServerSources, parseServerRuntime, requireGoServer, serverImplementation } from '../../../harness/workloads/runtime.ts';

describe('the Go sample server runtime', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kth-go-src-'));
    await mkdir(join(dir, 'internal/echo'), { recursive: true });
    await writeFile(join(dir, 'go.mod'), 'module x\n');
    await writeFile(join(dir, 'main.go'), 'package main\n');
    await writeFile(join(dir, 'internal/echo/echo.go'), 'package echo\n');
    await writeFile(join(dir, 'README.md'), 'not a build input\n');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('GIVEN a Go module WHEN hashed THEN go.mod, go.sum and every .go file count, other files do not', async () => {
    expect(goServerSources(dir).map((file) => file.slice(dir.length + 1))).toEqual(['go.mod', 'internal/echo/echo.go', 'main.go']);
    const before = goServerSourceHash(dir);
    await writeFile(join(dir, 'README.md'), 'edited\n');
    expect(goServerSourceHash(dir)).toBe(before);
    await writeFile(join(dir, 'internal/echo/echo.go'), 'package echo // edited\n');
    expect(goServerSourceHash(dir)).not.toBe(before);
  });

  it('GIVEN the cache WHEN asked for the binary THEN it lives under the source hash, and KTH_SAMPLE_SERVER_BIN wins', () => {
    expect(goServerBinary({ KTH_CACHE_DIR: '/c' })).toMatch(/^\/c\/sample-server\/[0-9a-f]{16}\/kth-sample-server$/);
    expect(goServerBinary({ KTH_SAMPLE_SERVER_BIN: '/opt/kth-sample-server' })).toBe('/opt/kth-sample-server');
  });

  it('GIVEN no built binary THEN requiring it is an environment error that says to run setup', () => {
    let error: unknown;
    try {
      requireGoServer({ KTH_CACHE_DIR: dir });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(HarnessError);
    expect((error as HarnessError).kind).toBe('environment');
    expect((error as HarnessError).hint).toMatch(/npm run setup/);
  });

  it('GIVEN --runtime text THEN node or go, else bad input listing both', () => {
    expect(parseServerRuntime(' go ')).toBe('go');
    expect(() => parseServerRuntime('rust')).toThrow(/'rust' is not a server runtime/);
  });

  it('GIVEN a kind and runtime THEN reports name the library (what a MaxConnectionAge result belongs to)', () => {
    expect(serverImplementation('grpc', 'go')).toBe('grpc-go');
    expect(serverImplementation('grpc', 'node')).toBe('grpc-js (Node.js)');
    expect(serverImplementation('http', 'go')).toBe('net/http (Go)');
  });
});
