import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Template } from 'aws-cdk-lib/assertions';
import { parse } from 'shell-quote';
import { describe, it } from 'vitest';
import { addGatewayStacks } from '../../lib/gateway-app.ts';
import { templateApp } from '../support/cdk.ts';

/** Every command of docs/deploy.md's `sh` blocks, continuation lines joined, `&&` chains split, words parsed. */
function runbookCommands(): string[][] {
  const doc = readFileSync('docs/deploy.md', 'utf8');
  const blocks = [...doc.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => (m[1] ?? '').replace(/\\\n\s*/g, ''));
  return blocks
    .flatMap((block) => block.split('\n'))
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line !== '')
    .flatMap((line) => line.split(' && '))
    .map((command) =>
      // Variables stay as their names: what is checked is the command and its flags, not the values.
      parse(command, (name) => `$${name}`).map(String),
    );
}

const cdkJson = JSON.parse(readFileSync('cdk.json', 'utf8')) as { context: Record<string, unknown> };

/** `-c key=value` pairs as the CDK CLI passes them to the app: strings. */
function contextOf(words: readonly string[]): Record<string, string> {
  const context: Record<string, string> = {};
  words.forEach((word, i) => {
    if (word !== '-c' && word !== '--context') return;
    const [key, ...value] = (words[i + 1] ?? '').split('=');
    context[key as string] = value.join('=');
  });
  return context;
}

const helpOf = new Map<string, string>();
/** The `--help` text of one micropay subcommand, run as a user runs it. */
function micropayHelp(path: readonly string[]): string {
  const key = path.join(' ');
  if (!helpOf.has(key)) {
    helpOf.set(
      key,
      execFileSync(process.execPath, ['cli/micropay.ts', ...path, '--help'], { encoding: 'utf8' }),
    );
  }
  return helpOf.get(key) as string;
}

describe('docs/deploy.md: every command in the runbook', () => {
  const commands = runbookCommands();

  it('is one this test knows how to check, or one that needs AWS or a repository (listed)', () => {
    const offlineUnchecked = ['npm ci', 'git checkout'];
    for (const words of commands) {
      const head = words.slice(0, 2).join(' ');
      assert.ok(
        ['npx cdk', 'npx micropay'].includes(head) || offlineUnchecked.includes(head),
        `unchecked command in docs/deploy.md: ${words.join(' ')}`,
      );
    }
    assert.ok(commands.length >= 10);
  });

  it('cdk synth, bootstrap and deploy: the context they give makes the stacks they name', () => {
    for (const words of commands.filter((w) => w[1] === 'cdk')) {
      const given = contextOf(words);
      const app = templateApp({ ...cdkJson.context, ...given });
      const stacks = addGatewayStacks(app);
      const names = stacks.map((s) => s.stackName);
      for (const named of words.filter((w) => w.startsWith('Micropay-'))) {
        assert.ok(names.includes(named), `${words.join(' ')}: no stack ${named} (stacks: ${names})`);
      }
      for (const target of words.filter((w) => w.startsWith('aws://'))) {
        assert.ok(
          names.includes(`Micropay-${target.split('/').pop()}`),
          `${target}: no stack in that region`,
        );
      }
      // What the context sets reaches the functions as the descriptors' variables.
      const environments = Object.values(
        Template.fromStack(stacks[0] as never).findResources('AWS::Lambda::Function'),
      ).map((fn) => JSON.stringify(fn));
      const expected = [
        ...Object.values(JSON.parse(given.channelUrls ?? '{}') as Record<string, string>),
        ...Object.entries(JSON.parse(given.channelSettings ?? '{}') as Record<string, string>).map(
          ([name, value]) => `"${name}":"${value}"`,
        ),
      ];
      for (const text of expected) {
        assert.ok(
          environments.some((env) => env.includes(text)),
          `${words.join(' ')}: ${text} not in the functions`,
        );
      }
    }
  });

  it('micropay: each subcommand exists and takes every flag the runbook gives it', () => {
    for (const words of commands.filter((w) => w[1] === 'micropay')) {
      const path = words
        .slice(2)
        .filter((w, i, all) => !w.startsWith('-') && all.slice(0, i).every((p) => !p.startsWith('-')));
      const help = micropayHelp(path);
      for (const flag of words.filter((w) => w.startsWith('--') && w !== '--help')) {
        assert.match(help, new RegExp(`\\s${flag}[\\s,]`), `micropay ${path.join(' ')}: no flag ${flag}`);
      }
    }
  });
});
