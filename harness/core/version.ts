import { readFileSync } from 'node:fs';

/** The harness's own version, from package.json (reports carry it as environment.harnessVersion). */
export function harnessVersion(): string {
  const url = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
}
