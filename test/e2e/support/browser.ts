import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

// Debian's package; CHROMIUM_PATH points elsewhere when it lives somewhere else.
const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'];

export function findChromium(): string {
  const found = CANDIDATES.find((candidate): candidate is string => !!candidate && fs.existsSync(candidate));
  if (!found) {
    throw new Error(
      "Chromium not found. Install Debian's chromium: apt-get install chromium " + '(or set CHROMIUM_PATH to a Chromium or Chrome binary).',
    );
  }
  return found;
}

export interface TestBrowser {
  browser: Browser;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  // headless: true passes --headless; Playwright gives the browser a fresh temporary profile.
  const browser = await chromium.launch({
    executablePath: findChromium(),
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    browser,
    close: () => browser.close(),
  };
}

/**
 * Everything a page says on its console at error level, and uncaught exceptions. Content-Security-Policy
 * violations arrive here as console errors.
 */
export function watchConsole(context: BrowserContext): { problems: string[] } {
  const problems: string[] = [];
  const watch = (page: Page) => {
    page.on('console', (message) => {
      const isCsp = /Content.Security.Policy/i.test(message.text());
      if (message.type() !== 'error' && !isCsp) return;
      // A page that is itself a 401, 404 or 422 (a refused sign-in, a missing page, a refused form) is what the test asked for.
      if (message.location().url === page.url() && /status of (401|404|422)/.test(message.text())) return;
      problems.push(`${page.url()}: console ${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`${page.url()}: page error: ${error.message}`));
  };
  context.pages().forEach(watch);
  context.on('page', watch);
  return { problems };
}

const SCREENSHOT_DIR = path.resolve('test-results', 'e2e');

/** A screenshot under test-results/e2e/ (gitignored), the whole page unless told; returns its path. */
export async function screenshot(page: Page, name: string, options: { fullPage?: boolean } = {}): Promise<string> {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: options.fullPage ?? true });
  return file;
}
