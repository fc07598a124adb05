import { chmod, cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { environmentError } from '../core/errors.ts';
import { repoRoot } from '../core/paths.ts';
import type { BuildGroup, ModuleSubstitute } from './versions.ts';

/**
 * Makes each of a group's module substitutes as a directory of the wrapper module and returns the
 * `replace` lines pointing at them. A substitute starts as a copy of a module the proxy serves
 * (from the module cache, `go mod download`-ed by `download`), loses its tests, gets the edits
 * (each must find its text: a pin bump that moved it fails here, naming the file, not later in a
 * confusing compile error) and the files of `harness/setup/go-substitutes/<files>` on top.
 */
export async function prepareSubstitutes(group: BuildGroup, workDir: string, download: (module: string, version: string) => Promise<string>): Promise<string[]> {
  const replaces: string[] = [];
  for (const substitute of group.substitutes ?? []) {
    const dir = join(workDir, substitute.dir);
    await rm(dir, { recursive: true, force: true });
    if (substitute.copyOf) {
      await cp(await download(substitute.copyOf.module, substitute.copyOf.version), dir, { recursive: true });
      await makeWritable(dir);
      for (const name of await readdir(dir, { recursive: true })) if (name.endsWith('_test.go')) await rm(join(dir, name), { force: true });
    }
    for (const edit of substitute.edits ?? []) await applyEdit(group, substitute, dir, edit);
    if (substitute.files) await cp(join(repoRoot, 'harness/setup/go-substitutes', substitute.files), dir, { recursive: true });
    replaces.push(`${substitute.module} => ./${substitute.dir}`);
  }
  return replaces;
}

async function applyEdit(group: BuildGroup, substitute: ModuleSubstitute, dir: string, edit: NonNullable<ModuleSubstitute['edits']>[number]): Promise<void> {
  const path = join(dir, edit.file);
  let text = await readFile(path, 'utf8');
  for (const [from, to] of edit.replace) {
    if (!text.includes(from)) {
      throw environmentError(`the ${substitute.module} substitute of ${group.id} cannot be made: ${edit.file} no longer contains ${JSON.stringify(from.slice(0, 80))}`, {
        where: `harness/setup/versions.ts: ${group.id} substitutes`,
        hint: `the copied module (${substitute.copyOf?.module}@${substitute.copyOf?.version}) changed: update the edit to its new text, or drop it if the pinned ${group.module} no longer needs it`,
      });
    }
    text = text.replace(from, to);
  }
  await writeFile(path, text);
}

/** The module cache is read-only; the copy must be editable (and removable by the next build). */
async function makeWritable(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    await chmod(join(entry.parentPath, entry.name), entry.isDirectory() ? 0o755 : 0o644);
  }
}
