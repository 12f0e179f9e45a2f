// Test fixture: Debian's Chromium (apt-get install -y chromium) driven by
// playwright-core, cut off from every host but loopback. Never `playwright install`.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];

/** Whether Chromium is installed. Browser suites run when it is, or when CI=true (then they fail loudly). */
export const chromiumInstalled = existsSync(CHROMIUM_PATH);
export const requireChromium = chromiumInstalled || process.env.CI === 'true';

/** Prints why a browser suite will be skipped (or fail in CI); call once at module top level. */
export function noticeIfChromiumMissing(suite: string): void {
  if (chromiumInstalled) return;
  console.warn(
    process.env.CI === 'true'
      ? `${suite}: CI=true but ${CHROMIUM_PATH} is missing (apt-get install -y chromium): the browser test fails.`
      : `NOTICE: ${CHROMIUM_PATH} is missing and CI is unset: ${suite} browser test is skipped (apt-get install -y chromium).`,
  );
}

/**
 * Launches headless Chromium with a throw-away profile. Every host except
 * 127.0.0.1 is sent to a proxy on a closed port, so the page is as offline as
 * on a machine without internet even where the internet is reachable.
 */
export async function launchChromium(): Promise<Browser> {
  if (!chromiumInstalled) throw new Error(`${CHROMIUM_PATH} is missing: apt-get install -y chromium`);
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: CHROMIUM_ARGS,
    proxy: { server: 'http://127.0.0.1:9', bypass: '127.0.0.1' },
    timeout: 15_000,
  });
}
