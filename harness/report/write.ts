import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, open, rename, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { renderHtml } from './html.ts';
import { renderJunit } from './junit.ts';
import { environmentError } from '../core/errors.ts';
import type { Report } from './model.ts';
import { renderSummaryMarkdown } from './summary-md.ts';

export interface WrittenReport {
  reportJson: string;
  summaryMd: string;
  indexHtml: string;
  junitXml: string;
  /** Set when an events file was given (copied into the directory, or already there). */
  eventsNdjson?: string;
}

/**
 * Writes a run's report files into `dir` (created if missing). Each file is written to a temporary
 * name, flushed, then renamed: a crash never leaves a half file under a final name. Everything is
 * rendered before anything is written, so a renderer bug leaves the directory untouched, and
 * report.json goes last: when it is there, the files written before it are complete too.
 *
 * `events` is the path of an events.ndjson to copy in; a path that already is `<dir>/events.ndjson`
 * is left where it is.
 */
export async function writeReport(dir: string, report: Report, events?: string): Promise<WrittenReport> {
  const rendered = {
    summaryMd: renderSummaryMarkdown(report),
    indexHtml: renderHtml(report),
    junitXml: renderJunit(report),
    reportJson: `${JSON.stringify(report, null, 2)}\n`,
  };
  try {
    return await writeFiles(dir, rendered, events);
  } catch (error) {
    throw environmentError(`could not write the report into ${dir}`, { where: dir, hint: 'check that the --out directory is writable and its disk is not full', cause: error });
  }
}

async function writeFiles(dir: string, rendered: Record<'summaryMd' | 'indexHtml' | 'junitXml' | 'reportJson', string>, events: string | undefined): Promise<WrittenReport> {
  await mkdir(dir, { recursive: true });
  const paths: WrittenReport = {
    reportJson: join(dir, 'report.json'),
    summaryMd: join(dir, 'summary.md'),
    indexHtml: join(dir, 'index.html'),
    junitXml: join(dir, 'junit.xml'),
  };
  if (events !== undefined) {
    const target = join(dir, 'events.ndjson');
    if (resolve(events) !== resolve(target)) await replaceAtomically(target, async (temp) => {
      await copyFile(events, temp);
      await syncFile(temp);
    });
    paths.eventsNdjson = target;
  }
  for (const key of ['summaryMd', 'indexHtml', 'junitXml', 'reportJson'] as const) {
    await replaceAtomically(paths[key], (temp) => writeSynced(temp, rendered[key]));
  }
  return paths;
}

/** Produces `path` through a temporary sibling (same filesystem, so rename is atomic); removes the temporary on failure. */
async function replaceAtomically(path: string, produce: (temp: string) => Promise<void>): Promise<void> {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await produce(temp);
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}

async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes and fsyncs, so the rename cannot land before the data does (power loss, not only a crash). */
async function writeSynced(path: string, content: string): Promise<void> {
  const handle = await open(path, 'wx');
  try {
    await handle.writeFile(content, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}
