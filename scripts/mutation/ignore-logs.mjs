import { declareValuePlugin, PluginKind } from '@stryker-mutator/api/plugin';

/** Whether a babel node is a log call: `info`, `warn`, `error` or `debug` on something named `log` or `logger`. */
function isLogCall(node) {
  if (node?.type !== 'CallExpression') return false;
  const callee = node.callee;
  if (callee.type !== 'MemberExpression' || callee.property.type !== 'Identifier') return false;
  if (!['info', 'warn', 'error', 'debug'].includes(callee.property.name)) return false;
  const target = callee.object.type === 'MemberExpression' ? callee.object.property : callee.object;
  return target.type === 'Identifier' && ['log', 'logger'].includes(target.name);
}

/**
 * A StrykerJS ignorer: a log call (`ports.log.warn(…)`, `logger.info(…)`), its message and its fields do nothing for
 * the money, so mutating them measures nothing (the leak test guards what logs must never hold).
 */
export const strykerPlugins = [
  declareValuePlugin(PluginKind.Ignore, 'logs', {
    shouldIgnore(path) {
      const node = path.isExpressionStatement() ? path.node.expression : path.node;
      return isLogCall(node) ? 'a log call: its text and fields move no money' : undefined;
    },
  }),
];
