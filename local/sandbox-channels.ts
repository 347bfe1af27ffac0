import type { ChannelCredentials } from '#core/channels/channel.ts';
import { type ChannelName, channelUrlVariables } from '#core/channels/registry.ts';
import { AlipaySandbox } from '#sandbox/alipay.ts';
import { WechatSandbox } from '#sandbox/wechat.ts';
import { alipaySandboxKeys } from './alipay-keys.ts';
import type { SandboxPki } from './certificates.ts';
import { blueoceanStarter } from './sandbox-blueocean.ts';
import { fshowsStarter } from './sandbox-fshows.ts';
import { sandboxAlipay, sandboxWechat } from './sandbox-merchants.ts';

/** Calls a sandbox received for one order, by endpoint (e.g. `{ micropay: 1, orderquery: 2, reverse: 0 }`). */
export type SandboxCalls = Readonly<Record<string, number>>;

/** One sandbox channel server the local stack runs, and what the gateway needs to use it. */
export interface RunningSandbox {
  readonly channel: ChannelName;
  /** What `npm start` prints: its name, URL and paths. */
  readonly label: string;
  readonly url: string;
  readonly paths: string;
  /** Credentials made for this run (certificates, key pairs) that every sandbox merchant's secret gets for this channel. */
  readonly credentials: ChannelCredentials;
  /** Calls it received for one of our `out_trade_no`s (our trade_id). */
  callsFor(outTradeNo: string): SandboxCalls;
  /** When each of those calls arrived (epoch ms), where the sandbox records it (BlueOcean's windows). */
  readonly callTimes?: (outTradeNo: string) => readonly { readonly endpoint: string; readonly at: number }[];
  close(): Promise<void>;
}

export interface SandboxContext {
  /** The deadline scale: a sandbox that "does not answer in time" hangs 60 s × this. */
  readonly deadlineScale: number;
  /** The local stack's test PKI: its CA signs the sandboxes' server certificates (and WeChat's client certificates). */
  readonly pki: SandboxPki;
  /** Where a sandbox may keep what must survive a restart (key pairs); in memory when absent. */
  readonly dataDir?: string;
}

/** Starts one sandbox channel. */
export type SandboxStarter = (context: SandboxContext) => Promise<RunningSandbox>;

const wechat: SandboxStarter = async ({ deadlineScale, pki }) => {
  const sandbox = new WechatSandbox({
    accounts: [{ ...sandboxWechat.account, key: sandboxWechat.credentials.api_key }],
    timeScale: deadlineScale,
    pki,
  });
  const url = await sandbox.listen();
  const client = pki.issueClientCertificate(sandboxWechat.account.mch_id);
  return {
    channel: 'wechat',
    label: 'WeChat Pay v2 sandbox',
    url,
    paths: '/pay/micropay, /pay/orderquery, /secapi/pay/reverse (mutual TLS)',
    credentials: { cert_pem: client.cert_pem, key_pem: client.key_pem },
    callsFor: (outTradeNo) => sandbox.callsFor(outTradeNo) as unknown as SandboxCalls,
    close: () => sandbox.close(),
  };
};

const alipay: SandboxStarter = async ({ deadlineScale, pki, dataDir }) => {
  const keys = await alipaySandboxKeys(dataDir);
  const sandbox = new AlipaySandbox({
    apps: [{ ...sandboxAlipay.account, publicKeyPem: keys.app.public_pem }],
    alipayPrivateKeyPem: keys.alipay.private_pem,
    timeScale: deadlineScale,
    tls: pki.server,
  });
  const url = await sandbox.listen();
  return {
    channel: 'alipay',
    label: 'Alipay open API sandbox',
    url,
    paths: 'alipay.trade.pay, alipay.trade.query, alipay.trade.cancel (RSA2)',
    credentials: { app_private_key_pem: keys.app.private_pem, alipay_public_key_pem: keys.alipay.public_pem },
    callsFor: (outTradeNo) => sandbox.callsFor(outTradeNo) as unknown as SandboxCalls,
    close: () => sandbox.close(),
  };
};

/** Every sandbox channel `npm start` and the integration tests run. New channels register here. */
export const sandboxStarters: readonly SandboxStarter[] = [wechat, alipay, blueoceanStarter, fshowsStarter];

/** The environment that points the gateway at the running sandboxes. */
export function sandboxEnvironment(sandboxes: readonly RunningSandbox[]): Record<string, string> {
  return Object.fromEntries(sandboxes.map((s) => [channelUrlVariables[s.channel], s.url]));
}
