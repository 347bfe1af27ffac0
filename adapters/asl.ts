import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The settlement state machine: one ASL file, deployed by CDK and run locally alike. */
export const settlementAslPath = fileURLToPath(
  new URL('../statemachines/settlement.asl.json', import.meta.url),
);

export function readSettlementAsl(): string {
  return readFileSync(settlementAslPath, 'utf8');
}

/** Applies `${Name}` definition substitutions the way Step Functions does; every placeholder must be given. */
export function substitute(asl: string, substitutions: Readonly<Record<string, string>>): string {
  return asl.replace(/\$\{([A-Za-z0-9_]+)\}/g, (placeholder, name: string) => {
    const value = substitutions[name];
    if (value === undefined) throw new Error(`no substitution for ${placeholder}`);
    return value;
  });
}
