import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterQuery, outcomeOf, payBehaviour, reverseAnswer } from '#sandbox/outcomes.ts';
import { bodyOf, SandboxServer, type SandboxStarter, type SandboxTls } from '#sandbox/server.ts';
import { parseTally, type TallyFields, tallySign, tallyVerify } from './wire.ts';

type Endpoint = 'pay' | 'query' | 'reverse';

interface TallyOrder {
  readonly total_fee: number;
  readonly outcome: string;
  state: 'PAID' | 'PAYING' | 'DECLINED' | 'REVERSED';
  queries: number;
  reverses: number;
}

/** The account the sandbox knows. */
export const tallyShop = { shop: 'S100', key: 'sandboxtallykey0123456789abcdef' } as const;

/**
 * Tally's sandbox: as strict as the channel (a request is taken only signed with its shop's key), the SPEC's
 * outcome table (`sandbox/outcomes.ts`) in Tally's words.
 */
export class TallySandbox extends SandboxServer<Endpoint> {
  private readonly orders = new Map<string, TallyOrder>();

  constructor(options: { readonly tls: SandboxTls; readonly timeScale?: number }) {
    super('Tally sandbox', ['pay', 'query', 'reverse'], options);
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const endpoint = new URL(req.url ?? '/', 'https://sandbox').pathname.replace('/v1/', '') as Endpoint;
    const fields = parseTally((await bodyOf(req)).toString('utf8'));
    const send = (answer: TallyFields) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ...answer, sign: tallySign(answer, tallyShop.key) }));
    };
    const outTradeNo = String(fields?.out_trade_no ?? '');
    if (
      req.method !== 'POST' ||
      !['pay', 'query', 'reverse'].includes(endpoint) ||
      !fields ||
      fields.shop !== tallyShop.shop ||
      !tallyVerify(fields, tallyShop.key) ||
      !outTradeNo
    ) {
      // Unsigned: a request that is not the shop's own learns nothing, and the gateway must not believe it.
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"result":"BAD_REQUEST"}');
      return;
    }
    this.record(outTradeNo, endpoint);
    const about = { shop: tallyShop.shop, out_trade_no: outTradeNo };
    if (endpoint === 'pay') {
      const total = Number(fields.total_fee);
      const outcome = outcomeOf(String(fields.auth_code));
      const behaviour = payBehaviour(outcome);
      const order: TallyOrder = { total_fee: total, outcome, state: 'PAYING', queries: 0, reverses: 0 };
      this.orders.set(outTradeNo, order);
      if (behaviour.kind === 'paid' || behaviour.kind === 'error') order.state = 'PAID';
      if (behaviour.kind === 'refused') order.state = 'DECLINED';
      if (behaviour.kind === 'silent') {
        if (behaviour.paid) order.state = 'PAID';
        this.hang(res);
        return;
      }
      if (behaviour.kind === 'error') return send({ ...about, result: 'ERROR' });
      if (behaviour.kind === 'refused')
        return send({ ...about, result: 'DECLINED', reason: behaviour.reason });
      return send(order.state === 'PAID' ? paidAnswer(outTradeNo, order) : { ...about, result: 'PAYING' });
    }
    const order = this.orders.get(outTradeNo);
    if (!order) return send({ ...about, result: 'NOTFOUND' });
    if (endpoint === 'query') {
      order.queries += 1;
      if (order.state === 'PAYING') {
        const now = afterQuery(order.outcome, order.queries);
        order.state = now === 'paid' ? 'PAID' : now === 'failed' ? 'DECLINED' : 'PAYING';
      }
      if (order.state === 'PAID') return send(paidAnswer(outTradeNo, order));
      return send({ ...about, result: order.state });
    }
    order.reverses += 1;
    const answer = reverseAnswer(order.outcome, order.reverses);
    if (answer === 'reversed') order.state = 'REVERSED';
    return send({
      ...about,
      result: answer === 'reversed' ? 'REVERSED' : answer === 'again' ? 'RETRY' : 'ERROR',
    });
  }
}

function paidAnswer(outTradeNo: string, order: TallyOrder): TallyFields {
  return {
    shop: tallyShop.shop,
    out_trade_no: outTradeNo,
    total_fee: order.total_fee,
    result: 'PAID',
    ref: `T${outTradeNo.slice(-12)}`,
    // 0.6 % in yuan, as Tally writes its fees.
    fee: (Math.round(order.total_fee * 0.006) / 100).toFixed(2),
  };
}

export const tallyStarter: SandboxStarter = async ({ deadlineScale, pki }) => {
  const sandbox = new TallySandbox({ tls: pki.server, timeScale: deadlineScale });
  return {
    label: 'Tally sandbox',
    url: await sandbox.listen(),
    paths: '/v1/pay, /v1/query, /v1/reverse',
    credentials: {},
    callsFor: (outTradeNo) => sandbox.callsFor(outTradeNo),
    callTimes: (outTradeNo) => sandbox.callTimes(outTradeNo),
    merchantAddFlags: () => `--tally-shop ${tallyShop.shop} --tally-key ${tallyShop.key}`,
    close: () => sandbox.close(),
  };
};
