import { alipayOnboarding } from './alipay.ts';
import { blueoceanOnboarding } from './blueocean.ts';
import { fshowsOnboarding } from './fshows.ts';
import type { ChannelOnboarding } from './onboarding.ts';
import { wechatOnboarding } from './wechat.ts';

/** Every channel `merchant add` can configure. New channels register here. */
export const onboardings: readonly ChannelOnboarding[] = [
  wechatOnboarding,
  alipayOnboarding,
  blueoceanOnboarding,
  fshowsOnboarding,
];
