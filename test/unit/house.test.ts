import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { transformSync } from 'esbuild';
import { describe, it } from 'vitest';
import { installedChannels } from '#core/channels/installed.ts';

/** The project's own source files (tests aside), as git tracks them. */
const sources = execFileSync('git', ['ls-files', '*.ts', '*.mjs'], { encoding: 'utf8' })
  .trim()
  .split('\n')
  .filter((file) => !file.startsWith('test/'));

/** A file's code as esbuild leaves it: types and most comments gone (a comment may name a channel). */
const codeOf = (file: string) =>
  transformSync(readFileSync(file, 'utf8'), { loader: 'ts', format: 'esm' }).code;

/** The modules a file imports, as written. */
const importsOf = (code: string) =>
  [
    ...code.matchAll(/(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|import\s*\(?\s*["']([^"']+)["']/g),
  ].map((m) => (m[1] ?? m[2]) as string);

const aliases: Record<string, string> = JSON.parse(readFileSync('package.json', 'utf8')).imports;

/** The repository file an import names, or undefined for a package. */
function resolve(from: string, specifier: string): string | undefined {
  for (const [alias, target] of Object.entries(aliases)) {
    const prefix = alias.replace('*', '');
    if (specifier.startsWith(prefix)) return normalize(target.replace('*', specifier.slice(prefix.length)));
  }
  if (!specifier.startsWith('.')) return undefined;
  const file = normalize(join(dirname(from), specifier));
  return existsSync(file) ? file : undefined;
}

describe('the house: where channel knowledge lives', () => {
  const names = installedChannels.map((channel) => channel.name);
  const channelFolder = new RegExp(`^core/channels/(${names.join('|')})/`);
  // The one list of installed channels names them, by design (docs/adding-a-channel.md); the reconcile bench
  // measures one channel's real statement format on purpose.
  const mayName = (file: string) =>
    channelFolder.test(file) ||
    file.startsWith('sandbox/') ||
    file === 'core/channels/installed.ts' ||
    file === 'scripts/bench-reconcile.ts';

  it('outside its folder and the sandboxes, no source file names a channel in its code', () => {
    const name = new RegExp(names.join('|'), 'i');
    const found: string[] = [];
    for (const file of sources.filter((f) => !mayName(f))) {
      const code = codeOf(file);
      for (const specifier of importsOf(code)) {
        if (name.test(specifier)) found.push(`${file}: imports ${specifier}`);
      }
      // Identifiers: the code with its string literals emptied (a pay type, `wechat.micro`, is a payment method).
      const bare = code
        .replace(/(["'`])(?:\\.|(?!\1)[^\\])*\1/g, '""')
        .replace(/\/\/[^\n]*|\/\*[\s\S]*?\*\//g, '');
      for (const [identifier] of bare.matchAll(/[A-Za-z_$][\w$]*/g)) {
        if (name.test(identifier)) found.push(`${file}: identifier ${identifier}`);
      }
      // Strings that are a channel's name, or a variable named after one (`FSHOWS_GATEWAY_URL`).
      for (const [, text] of code.matchAll(/["'`]([^"'`\n]*)["'`]/g)) {
        const value = (text ?? '').trim();
        if (names.includes(value.toLowerCase()) || (/^[A-Z_]+$/.test(value) && name.test(value))) {
          found.push(`${file}: string '${value}'`);
        }
      }
    }
    assert.deepEqual(found, []);
  });

  it('the check sees what it looks for', () => {
    const code = codeOf('core/channels/installed.ts');
    assert.ok(importsOf(code).some((specifier) => specifier.includes(`/${names[0]}/`)));
  });
});

describe('the house: imports', () => {
  const graph = new Map<string, string[]>();
  for (const file of sources) {
    const targets = importsOf(codeOf(file)).flatMap((specifier) => resolve(file, specifier) ?? []);
    graph.set(file, targets);
  }

  it('has no import circle', () => {
    const circles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        circles.push([...path.slice(path.indexOf(file)), file].join(' → '));
        return;
      }
      state.set(file, 'open');
      for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of graph.keys()) visit(file, []);
    assert.deepEqual(circles, []);
  });

  it('the sandboxes import nothing of local mode, and the deployed code nothing of either', () => {
    const wrong = [...graph].flatMap(([file, targets]) =>
      targets
        .filter(
          (target) =>
            (file.startsWith('sandbox/') && target.startsWith('local/')) ||
            (/^(core|adapters|functions|lib)\//.test(file) && /^(local|sandbox|scripts)\//.test(target)),
        )
        .map((target) => `${file} → ${target}`),
    );
    assert.deepEqual(wrong, []);
  });

  it('reads the imports it checks', () => {
    assert.ok(graph.get('local/stack.ts')?.includes('sandbox/index.ts'));
  });
});
