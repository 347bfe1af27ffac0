import { alipayStarter } from './alipay.ts';
import { blueoceanStarter } from './blueocean.ts';
import { fshowsStarter } from './fshows.ts';
import type { SandboxStarter } from './server.ts';
import { wechatStarter } from './wechat.ts';

export { createSandboxPki, pkiDirIn, type SandboxPki, sandboxPkiIn } from './certificates.ts';
export { sandboxMerchants } from './merchants.ts';
export type { RunningSandbox, SandboxContext, SandboxStarter } from './server.ts';

/** Every sandbox channel, by the name a channel's descriptor gives (`ChannelDescriptor.sandbox`). */
export const sandboxStarters: Readonly<Record<string, SandboxStarter>> = {
  wechat: wechatStarter,
  alipay: alipayStarter,
  blueocean: blueoceanStarter,
  fshows: fshowsStarter,
};
