import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { describe, it } from 'vitest';
import * as z from 'zod/mini';
import { envelope } from '#core/api/responses.ts';
import { ApiCode } from '#core/errors.ts';
import { sandboxOutcomes } from '#sandbox/outcomes.ts';
import { buildOpenApi, openApiPath, renderOpenApi } from '../../scripts/openapi.ts';

async function lint(source: string) {
  const config = await createConfig({ extends: ['recommended'] });
  return lintFromString({ source, absoluteRef: openApiPath, config });
}

describe('the OpenAPI document (docs/openapi.json)', () => {
  it('is what the schemas make: regenerate it with `npx node scripts/openapi.ts` after changing them', () => {
    assert.equal(readFileSync(openApiPath, 'utf8'), renderOpenApi());
  });

  it("passes Redocly's recommended rules", async () => {
    const problems = await lint(renderOpenApi());
    assert.deepEqual(
      problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message}`),
      [],
    );
  });

  it('is checked for real: a document with two operations of one id does not pass', async () => {
    const broken = buildOpenApi() as { paths: Record<string, { post: { operationId: string } }> };
    for (const path of Object.values(broken.paths)) path.post.operationId = 'same';
    const problems = await lint(JSON.stringify(broken));
    assert.ok(problems.some((p) => p.ruleId === 'operation-operationId-unique'));
  });

  it('names every API code and every sandbox outcome', () => {
    const text = renderOpenApi();
    for (const code of Object.values(ApiCode)) assert.ok(text.includes(`| ${code} |`), `code ${code}`);
    for (const outcome of sandboxOutcomes)
      assert.ok(text.includes(`sandbox-${outcome.suffix}`), outcome.suffix);
  });

  it('gives examples that are answers the API can give', () => {
    const document = buildOpenApi() as {
      paths: Record<
        string,
        {
          post: {
            responses: {
              200: { content: Record<string, { examples?: Record<string, { value: unknown }> }> };
            };
          };
        }
      >;
    };
    const examples = Object.values(document.paths).flatMap((path) =>
      Object.values(path.post.responses[200].content['application/json']?.examples ?? {}),
    );
    assert.ok(examples.length > sandboxOutcomes.length);
    for (const example of examples) {
      const parsed = z.safeParse(envelope, example.value);
      assert.ok(parsed.success, JSON.stringify(parsed.error?.issues));
    }
  });
});
