import { existsSync } from 'node:fs';
import { dirname, extname, relative, resolve, sep } from 'node:path';
import type TypeScript from 'typescript';
import { badInput } from '../core/errors.ts';
import { repoRoot } from '../core/paths.ts';

/**
 * What a scenario is checked with when no tsconfig.json is near it; `kth init` writes the same.
 * `module: preserve` + `moduleResolution: bundler`: a scenario is ESM or CommonJS depending on the
 * user's package.json, tsx runs both, and bundler resolution reads this package's `exports`
 * either way (nodenext would call importing it from a CommonJS file an error).
 */
export const scenarioCompilerOptions = {
  target: 'ES2022',
  module: 'preserve',
  moduleResolution: 'bundler',
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  allowImportingTsExtensions: true,
  isolatedModules: true,
} as const;

const typeScriptFile = /\.[cm]?tsx?$/;
let lastProgram: TypeScript.Program | undefined;
/** The harness's own sources are checked by its own typecheck; a scenario's checker reports the user's files only. */
const ownSources = ['harness', 'manifests'].map((dir) => resolve(repoRoot, dir) + sep);

/**
 * Type-checks a scenario file before it runs: tsx (bin/kth.mjs) only strips types, so without this
 * `replicas: 'three'` would surface later as a validation message without a line number.
 * Uses the tsconfig.json nearest the scenario (as the user's editor does), else
 * scenarioCompilerOptions. Throws bad input listing each error as file:line:column.
 */
export async function typecheckScenario(path: string, shown: string): Promise<void> {
  if (!typeScriptFile.test(extname(path))) return;
  // Loaded here only (~1 s to import), and through a variable: esbuild then leaves it out of the
  // guest bundle (harness/lab/guest/bundle.ts), whose processes never load a scenario.
  const specifier = 'typescript';
  const ts = ((await import(specifier)) as { default: typeof TypeScript }).default;
  const options = compilerOptionsFor(ts, path);
  // The last program's unchanged files (lib, @types, the harness's own) are reused: a process that
  // loads several scenarios (tests, sweeps) parses them once. TypeScript drops it when options differ.
  const program = ts.createProgram({ rootNames: [path], options: { ...options, noEmit: true }, ...(lastProgram ? { oldProgram: lastProgram } : {}) });
  lastProgram = program;
  const reported = program.getSourceFiles().filter((file) => {
    if (file.isDeclarationFile || program.isSourceFileFromExternalLibrary(file)) return false;
    const name = resolve(file.fileName);
    return name === path || (!name.split(sep).includes('node_modules') && !ownSources.some((dir) => name.startsWith(dir)));
  });
  const diagnostics = reported
    .flatMap((file) => [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)])
    .filter((diagnostic) => diagnostic.category === ts.DiagnosticCategory.Error);
  if (diagnostics.length === 0) return;
  const lines = diagnostics.map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n    ');
    if (!diagnostic.file || diagnostic.start === undefined) return `TS${diagnostic.code}: ${message}`;
    const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    return `${display(diagnostic.file.fileName)}:${line + 1}:${character + 1} - TS${diagnostic.code}: ${message}`;
  });
  const first = lines[0]?.split(' - ')[0];
  throw badInput(`scenario ${shown} has ${lines.length} type error${lines.length === 1 ? '' : 's'}:\n${lines.map((line) => `  ${line}`).join('\n')}`, {
    where: first ?? shown,
    hint: "fix the types above (the fields are documented on ScenarioSpec, exported by 'kube-traffic-harness'); your editor shows the same errors with the tsconfig.json next to the scenario (`kth init` writes one)",
  });
}

function compilerOptionsFor(ts: typeof TypeScript, path: string): TypeScript.CompilerOptions {
  const configPath = ts.findConfigFile(dirname(path), (file) => existsSync(file));
  if (configPath) {
    const read = ts.readConfigFile(configPath, ts.sys.readFile);
    if (read.error) throw badInput(`cannot read ${display(configPath)}: ${ts.flattenDiagnosticMessageText(read.error.messageText, ' ')}`, { where: display(configPath), hint: 'fix or remove that tsconfig.json; kth type-checks scenarios with the one nearest them' });
    // Only its compiler options: which files it includes does not matter, the scenario is the root.
    return ts.parseJsonConfigFileContent({ ...read.config, files: [], include: [] }, ts.sys, dirname(configPath)).options;
  }
  return ts.convertCompilerOptionsFromJson(scenarioCompilerOptions, dirname(path)).options;
}

function display(file: string): string {
  const fromCwd = relative(process.cwd(), file);
  return fromCwd && !fromCwd.startsWith('..') ? fromCwd : file;
}
