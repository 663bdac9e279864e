import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, freePort, REPO_ROOT, type RunningProcess, spawnStockwatch } from './helpers/process.ts';

/**
 * The dashboard end to end: a real `stockwatch all` child process on a fresh data folder (so the first
 * run shows), its simulator posting prices every 500 ms, and Debian's Chromium driven by playwright-core.
 * Every main view is saved under test-output/screenshots/; UPDATE_DOC_SCREENSHOTS=1 also copies them to
 * docs/screenshots/ for the README. No console error and no CSP violation is allowed, except the one
 * 422 the validation step provokes on purpose.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const WEB_DIR = path.join(REPO_ROOT, 'web');
const WEB_INDEX = path.join(REPO_ROOT, 'dist/web/index.html');
const SHOTS = path.join(REPO_ROOT, 'test-output/screenshots');
const DOC_SHOTS = path.join(REPO_ROOT, 'docs/screenshots');
const EMAIL = 'ada@example.com';
const PASSWORD = 'correct horse battery staple';

describe('dashboard in a real browser', () => {
  let server: RunningProcess;
  let dataDir: string;
  let profileDir: string;
  let base: string;
  let context: BrowserContext;
  let page: Page;
  const consoleErrors: string[] = [];
  const cspViolations: string[] = [];
  const apiRequests: number[] = [];
  const requestPaths = new Map<string, number>();
  const failedResponses: string[] = [];
  const assets: string[] = [];
  let journeyPassed = false;
  /** Set while a step provokes a 422 on purpose: Chromium logs every failed fetch as a console error. */
  let expected422 = false;

  beforeAll(async () => {
    buildWebIfStale();
    dataDir = mkdtempSync(path.join(tmpdir(), 'stockwatch-e2e-'));
    profileDir = mkdtempSync(path.join(tmpdir(), 'stockwatch-chromium-'));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    // Only what this run needs: no DATABASE_URL, REDIS_URL or SMTP_URL from CI, so the embedded defaults apply.
    server = spawnStockwatch(['all'], {
      PORT: String(port),
      DATA_DIR: dataDir,
      SIMULATOR_INTERVAL_MS: '500',
      // A webhook that cannot be delivered fails after three quick attempts rather than after minutes.
      DELIVERY_RETRY_BACKOFF: '300ms',
      LOG_LEVEL: 'warn',
    });
    await eventually(async () => (await fetch(`${base}/ready`).catch(() => undefined))?.ok, 120_000).catch(
      (error: unknown) => {
        throw new Error(`stockwatch all did not become ready: ${String(error)}\n${server.output()}`);
      },
    );

    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      headless: true,
      viewport: { width: 1280, height: 800 },
      colorScheme: 'light',
      locale: 'en-US',
      timezoneId: 'America/New_York',
    });
    await context.exposeBinding('reportCspViolation', (_source, text: string) => {
      cspViolations.push(text);
    });
    // Runs in the page (a string: this file is compiled without the DOM's types).
    await context.addInitScript({
      content: `document.addEventListener('securitypolicyviolation', (e) =>
        window.reportCspViolation(e.violatedDirective + ' blocked ' + e.blockedURI + ' (' + e.sourceFile + ':' + e.lineNumber + ')'));`,
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(20_000);
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      if (expected422 && /status of 422/.test(message.text())) return;
      consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(`page error: ${error.message}`));
    page.on('response', (response) => {
      if (response.status() >= 400)
        failedResponses.push(`${response.status()} ${response.request().method()} ${response.url()}`);
    });
    page.on('request', (request) => {
      const { pathname } = new URL(request.url());
      if (pathname.startsWith('/assets/')) {
        assets.push(pathname);
        return;
      }
      apiRequests.push(Date.now());
      const key = `${request.method()} ${pathname.replace(/\/stocks\/\w+/, '/stocks/{symbol}')}`;
      requestPaths.set(key, (requestPaths.get(key) ?? 0) + 1);
    });
    rmSync(SHOTS, { recursive: true, force: true });
    mkdirSync(SHOTS, { recursive: true });
  }, 240_000);

  afterAll(async () => {
    await context?.close();
    await server?.kill();
    for (const dir of [dataDir, profileDir]) if (dir) rmSync(dir, { recursive: true, force: true });
    if (process.env.UPDATE_DOC_SCREENSHOTS === '1' && journeyPassed) {
      mkdirSync(DOC_SHOTS, { recursive: true });
      for (const file of readdirSync(SHOTS)) copyFileSync(path.join(SHOTS, file), path.join(DOC_SHOTS, file));
    }
  });

  const shot = async (name: string) => {
    await page.evaluate('window.scrollTo(0, 0)');
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  };
  /** Toasts sit over the lower right corner, where a row's buttons may be. */
  const dismissToasts = async () => {
    for (const button of await page.locator('.toast [aria-label="Dismiss"]').all())
      await button.click({ timeout: 2000 }).catch(() => {});
  };
  const nav = (name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name });

  it('runs the whole journey: first account, live prices, chart, a notification that fires, tokens', async ({
    onTestFailed,
  }) => {
    onTestFailed(async () => {
      await page.screenshot({ path: path.join(SHOTS, 'failure.png'), fullPage: true }).catch(() => {});
      console.log(
        `console errors: ${JSON.stringify(consoleErrors)}\nserver output:\n${server.output().slice(-4000)}`,
      );
    });
    // First run: no account yet, so the page offers to create the administrator.
    const response = await page.goto(`${base}/`);
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
    await expect
      .poll(() => page.getByRole('heading', { level: 1 }).textContent())
      .toBe('Welcome to Stockwatch');
    await shot('01-first-run');
    await page.getByLabel('Name (optional)').fill('Ada');
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Create the administrator account' }).click();

    // The watchlist fills with the simulator's symbols and moves live.
    await page.getByRole('heading', { name: 'Watchlist', level: 1 }).waitFor();
    const rows = page.locator('table.watchlist tbody tr');
    await expect.poll(() => rows.count(), { timeout: 20_000 }).toBe(10);
    await expect.poll(() => page.locator('.live').textContent(), { timeout: 20_000 }).toBe('Live');
    const firstPrices = await page.locator('table.watchlist .price').allTextContents();
    await expect
      .poll(
        async () =>
          (await page.locator('table.watchlist .price').allTextContents()).join() !== firstPrices.join(),
        {
          timeout: 20_000,
        },
      )
      .toBe(true);
    expect(await page.locator('tr[data-symbol="AAPL"] .change-percent').textContent()).toMatch(
      /^[+\-−]?\d+\.\d\d %$/,
    );
    await expect.poll(() => page.locator('tr[data-symbol="AAPL"] .sparkline polyline').count()).toBe(1);
    await shot('02-watchlist');
    // Keyboard: the first Tab reaches the skip link, which leads to the page's content.
    await page.evaluate('document.activeElement && document.activeElement.blur()');
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.textContent')).toBe('Skip to content');

    // The chart library is loaded with the symbol page only.
    expect(assets.filter((a) => a.includes('SymbolPage'))).toEqual([]);
    // The symbol page: the chart has data, in lines and in candles, with volume.
    await page.getByRole('link', { name: 'AAPL', exact: true }).click();
    await page.getByRole('heading', { name: 'AAPL', level: 1 }).waitFor();
    const chart = page.locator('.chart');
    expect(assets.filter((a) => a.includes('SymbolPage'))).toHaveLength(1);
    await chart.waitFor();
    expect(Number(await chart.getAttribute('data-points'))).toBeGreaterThan(100);
    await expect.poll(() => chart.locator('canvas').count()).toBeGreaterThan(0);
    await page.getByRole('button', { name: 'Candles' }).click();
    await expect
      .poll(() => page.getByRole('button', { name: 'Candles' }).getAttribute('aria-pressed'))
      .toBe('true');
    await page.getByRole('button', { name: '5D' }).click();
    await expect.poll(async () => (await page.locator('.stats').textContent()) ?? '').toContain('× 15m');
    await shot('03-symbol-candles');
    // A custom range: the last two days.
    await page.getByRole('button', { name: 'Custom' }).click();
    await page.getByLabel('From', { exact: true }).fill(localInput(Date.now() - 2 * 86_400_000));
    await page.getByLabel('To', { exact: true }).fill(localInput(Date.now() + 60_000));
    await page.getByRole('button', { name: 'Show', exact: true }).click();
    await expect.poll(async () => Number(await chart.getAttribute('data-points'))).toBeGreaterThan(100);

    // A notification through the form; first the API's validation message beside the field.
    await page.getByRole('link', { name: 'New notification' }).click();
    await page.getByRole('heading', { name: 'Notifications', level: 1 }).waitFor();
    expect(await page.getByLabel('Symbol').inputValue()).toBe('AAPL');
    expected422 = true;
    await page.getByLabel('Threshold').fill('0');
    await page.getByRole('button', { name: 'Create notification' }).click();
    const threshold = page.getByLabel('Threshold');
    await expect.poll(() => threshold.getAttribute('aria-invalid')).toBe('true');
    const describedBy = (await threshold.getAttribute('aria-describedby')) ?? '';
    const message = await page.locator(`[id="${describedBy.split(' ').at(-1)}"]`).textContent();
    expect(message).toMatch(/expected number to be >0/);
    await shot('04-notification-validation');
    expected422 = false;

    // A threshold just below the current price: it fires on the simulator's next tick.
    const hint = (await page.locator('.hint', { hasText: /^Now / }).textContent()) ?? '';
    const now = Number(hint.replace(/[^\d.]/g, ''));
    expect(now).toBeGreaterThan(0);
    const level = Math.floor(now * 0.97);
    await threshold.fill(String(level));
    await page.getByLabel('Cooldown (minutes)').fill('120');
    // A second channel that cannot succeed (the .invalid domain never resolves): a failed delivery.
    await page.getByRole('button', { name: '+ Add a webhook' }).click();
    await page.getByLabel('Webhook URL').fill('https://hooks.invalid/stockwatch');
    await page.getByRole('button', { name: 'Create notification' }).click();
    await page.locator('.toast', { hasText: 'Notification created' }).waitFor();
    const alertToast = page.locator('.toast-alert', { hasText: `AAPL price > ${level}` });
    await alertToast.waitFor({ timeout: 20_000 });
    const row = page.locator('table.notifications tbody tr', { hasText: `price > ${level}` });
    await expect.poll(() => row.locator('.badge').textContent()).toBe('active');
    await expect.poll(() => row.textContent(), { timeout: 15_000 }).toContain('1× in all');
    const notificationId = (await row.getAttribute('data-id')) ?? '';
    expect(notificationId).not.toBe('');
    await shot('05-notifications');

    // The alert in the history, its email delivered to the built-in mailbox.
    await alertToast.getByRole('link', { name: 'See alert history' }).click();
    await page.getByRole('heading', { name: 'Alerts', level: 1 }).waitFor();
    const alert = page.locator('.alert-item', { hasText: `price > ${level}` });
    await expect
      .poll(() => alert.locator('.delivery', { hasText: 'Email' }).textContent(), { timeout: 30_000 })
      .toMatch(/Email\s*sent/);
    // The webhook fails after its attempts: highlighted, with its error and a retry button.
    const webhook = alert.locator('.delivery', { hasText: 'hooks.invalid' });
    await expect.poll(() => webhook.locator('.badge').textContent(), { timeout: 45_000 }).toBe('failed');
    expect(await webhook.locator('.delivery-error').textContent()).toMatch(/^Failed: .+/);
    expect(await alert.getAttribute('class')).toContain('has-failed');
    await shot('06-alerts');
    await alert.getByRole('button', { name: 'Retry failed delivery' }).click();
    await page.locator('.toast', { hasText: 'Sending again' }).waitFor();
    await expect.poll(() => webhook.locator('.badge').textContent()).toMatch(/pending|failed/);
    await nav('Mailbox').click();
    await page.getByRole('heading', { name: 'Mailbox', level: 1 }).waitFor();
    const mail = page.locator('.mail', { hasText: `AAPL > ${level}` });
    await mail.locator('summary').click();
    expect(await mail.locator('.mail-text').textContent()).toContain('AAPL is at');
    await mail.getByRole('button', { name: 'Show as HTML' }).click();
    await mail.locator('iframe.mail-html').waitFor();
    await shot('07-mailbox');

    // Back on the chart: the threshold line and the alert marker are drawn; the lists say the same.
    await nav('Watchlist').click();
    await page.getByRole('link', { name: 'AAPL', exact: true }).click();
    await page.locator('.chart canvas').first().waitFor();
    await expect.poll(() => page.locator('.two-col').textContent()).toContain(`price > ${level}`);
    await shot('08-symbol-line-threshold-alert');

    // The email's link to the notification opens the page, though the API has the same path.
    await page.goto(`${base}/notifications/${notificationId}`);
    await page.getByRole('heading', { name: 'Edit notification', level: 1 }).waitFor();
    expect(await page.getByLabel('Symbol').isDisabled()).toBe(true);

    // Pause, resume, edit, delete.
    const listRow = () => page.locator(`table.notifications tr[data-id="${notificationId}"]`);
    await dismissToasts();
    await listRow()
      .getByRole('button', { name: /^Pause / })
      .click();
    await expect.poll(() => listRow().locator('.badge').textContent()).toBe('paused');
    await dismissToasts();
    await listRow()
      .getByRole('button', { name: /^Resume / })
      .click();
    await expect.poll(() => listRow().locator('.badge').textContent()).toBe('active');
    await page.getByLabel('Threshold').fill(String(level + 1));
    await page.getByRole('radio', { name: /Once, then stop/ }).check();
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('heading', { name: 'Notifications', level: 1 }).waitFor();
    await expect.poll(() => listRow().textContent()).toContain(`price > ${level + 1}`);
    await dismissToasts();
    await listRow()
      .getByRole('button', { name: /^Delete / })
      .click();
    const dialog = page.getByRole('dialog', { name: 'Delete this notification?' });
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => listRow().count()).toBe(0);

    // Settings: a token shown once, working, then revoked; the webhook secret.
    await nav('Settings').click();
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    await page.getByLabel('Token name').fill('e2e script');
    await page.getByRole('button', { name: 'Create token' }).click();
    const token = await page.getByLabel('New API token').inputValue();
    expect(token.length).toBeGreaterThan(20);
    expect((await fetch(`${base}/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    await page.getByRole('button', { name: 'Show' }).click();
    await expect
      .poll(() => page.getByRole('textbox', { name: 'Webhook secret' }).inputValue())
      .not.toMatch(/^(•+|Loading…)$/);
    await shot('09-settings');
    await dismissToasts();
    await page.getByRole('button', { name: 'Revoke e2e script' }).click();
    await page
      .getByRole('dialog', { name: 'Revoke this token?' })
      .getByRole('button', { name: 'Revoke' })
      .click();
    await expect.poll(() => page.getByRole('button', { name: 'Revoke e2e script' }).count()).toBe(0);
    expect((await fetch(`${base}/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);

    // Dark theme and a phone's screen.
    await nav('Watchlist').click();
    await dismissToasts();
    await expect.poll(() => page.locator('table.watchlist .sparkline polyline').count()).toBe(10);
    await page.getByRole('button', { name: 'Switch to dark theme' }).click();
    expect(await page.evaluate('document.documentElement.dataset.theme')).toBe('dark');
    await shot('10-watchlist-dark');
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('button', { name: 'Switch to light theme' }).click();
    await shot('11-watchlist-phone');
    await page.setViewportSize({ width: 1280, height: 800 });

    // Sign out ends the session: the sign-in form is back.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in', level: 1 }).waitFor();

    // The one refused request is the 422 of the validation step.
    expect(failedResponses).toEqual([expect.stringMatching(/^422 POST .*\/notifications$/)]);
    expect(consoleErrors).toEqual([]);
    expect(cspViolations).toEqual([]);
    // The page keeps well inside the API's rate limit of 100 requests a minute per client.
    const busiestMinute = Math.max(
      ...apiRequests.map((t) => apiRequests.filter((u) => u >= t && u < t + 60_000).length),
    );
    console.log(
      `dashboard e2e: ${apiRequests.length} requests in all, at most ${busiestMinute} in one minute:`,
      Object.fromEntries([...requestPaths].sort((x, y) => y[1] - x[1])),
    );
    expect(busiestMinute).toBeLessThan(100);
    journeyPassed = true;
  }, 300_000);
});

describe('dashboard bundle', () => {
  it('keeps the JavaScript and CSS of the first page under 250 KB gzipped', () => {
    buildWebIfStale();
    const html = readFileSync(WEB_INDEX, 'utf8');
    const files = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1] ?? '');
    expect(files.some((f) => f.endsWith('.js'))).toBe(true);
    expect(files.some((f) => f.includes('SymbolPage'))).toBe(false);
    const gzipped = files.map((f) => gzipSync(readFileSync(path.join(REPO_ROOT, 'dist/web', f))).length);
    const total = gzipped.reduce((sum, n) => sum + n, 0);
    console.log(`first page: ${files.join(', ')}: ${(total / 1024).toFixed(1)} KB gzipped`);
    expect(total).toBeLessThan(250 * 1024);
    // React's development build (NODE_ENV was not production) would be larger and chatty.
    expect(
      readFileSync(path.join(REPO_ROOT, 'dist/web', files.find((f) => f.endsWith('.js')) ?? ''), 'utf8'),
    ).not.toContain('react-refresh');
  });
});

/** An instant as the value of an <input type="datetime-local">, in the browser's zone (New York). */
function localInput(ms: number) {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone: 'America/New_York',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(ms);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}-${part('day')}T${part('hour')}:${part('minute')}`;
}

/** The test serves dist/web: rebuild it when a file under web/ is newer (CI builds it in `npm ci`). */
function buildWebIfStale() {
  const built = existsSync(WEB_INDEX) ? statSync(WEB_INDEX).mtimeMs : 0;
  const newest = (dir: string): number =>
    Math.max(
      0,
      ...readdirSync(dir, { withFileTypes: true }).map((entry) => {
        const full = path.join(dir, entry.name);
        return entry.isDirectory() ? newest(full) : statSync(full).mtimeMs;
      }),
    );
  if (built > newest(WEB_DIR)) return;
  execFileSync(
    process.execPath,
    [path.join(REPO_ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'web/vite.config.ts'],
    {
      cwd: REPO_ROOT,
      // vitest sets NODE_ENV=test, with which Vite would bundle React's development build.
      env: { ...process.env, NODE_ENV: 'production' },
      stdio: 'pipe',
    },
  );
}
