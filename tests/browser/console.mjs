// The console (/admin/) and the account page (/account/) in a real
// browser: Debian's chromium driven by playwright-core, with axe-core's
// accessibility check on every page. Run by `tests/tests/browser.rs`
// (`cargo test -p auth-contract-tests --test browser`), which starts the
// server (public URL http://localhost:PORT, so passkeys work), creates the
// accounts and their other sessions, and checks afterwards what was stored.
//
// With BT_SHOTS set to a folder, screenshots of the main pages are written
// there (docs/console/ holds the ones docs/console.md shows).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

import { check, env, eq, pathOf, step, steps, submit, totp } from './lib.mjs';


const ISSUER = env('BT_ISSUER'); // http://localhost:PORT
const ADMIN_USERNAME = env('BT_ADMIN_USERNAME'); // admin role, TOTP on
const ADMIN_PASSWORD = env('BT_ADMIN_PASSWORD');
const ADMIN_SECRET = env('BT_ADMIN_SECRET'); // base32
const TARGET_LOGIN = env('BT_TARGET_LOGIN'); // the user the admin finds
const TARGET_ACCESS = env('BT_TARGET_ACCESS'); // an access token of the target's session
const USER_USERNAME = env('BT_USER_USERNAME'); // no factor yet
const USER_PASSWORD = env('BT_USER_PASSWORD');
const CHROMIUM = process.env.BT_CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.BT_SHOTS || '';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');



// Console errors, CSP violations, uncaught exceptions, failed requests.
const problems = [];
// Statuses the browser logs as console errors on purpose ("status|path").
const expected = new Set();

function watch(page) {
  page.on('console', (msg) => {
    const text = msg.text();
    if (msg.type() === 'error' || /Content Security Policy|Refused to/i.test(text)) {
      const m = /the server responded with a status of (\d+)/.exec(text);
      if (m && expected.has(`${m[1]}|${pathOf(msg.location().url || page.url())}`)) return;
      problems.push(`console ${msg.type()} on ${page.url()}: ${text}`);
    }
  });
  page.on('pageerror', (err) => problems.push(`uncaught error on ${page.url()}: ${err.message}`));
}

async function newContext(browser, options = {}) {
  const context = await browser.newContext({ locale: 'ko-KR', ...options });
  context.setDefaultTimeout(15_000);
  context.setDefaultNavigationTimeout(15_000);
  context.on('page', watch);
  return context;
}

/// axe-core on the page (run through the DevTools protocol, which the
/// page's CSP does not govern): no serious or critical violation.
async function accessible(page, what) {
  await page.evaluate(`${AXE}\n;0`);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')) }));
  });
  const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  check(bad.length === 0, `${what}: axe found ${JSON.stringify(bad)}`);
}

/// What every console page must be: ours, with a strict CSP.
async function checkPage(page, response, what) {
  check(response, `${what}: no response`);
  eq(response.status(), 200, `${what}: status`);
  const csp = (await response.allHeaders())['content-security-policy'] || '';
  check(csp.includes("default-src 'none'") && csp.includes("script-src 'self'"), `${what}: CSP ${csp}`);
  check(!csp.includes('unsafe-inline'), `${what}: CSP allows unsafe-inline: ${csp}`);
  await accessible(page, what);
}

async function shot(page, name) {
  if (SHOTS) await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}



async function signInWithPassword(page, username, password) {
  eq(pathOf(page.url()), '/login', 'the console sends the browser to the hosted sign-in');
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  return submit(page, '#submit');
}

async function main() {
  const profile = mkdtempSync(join(tmpdir(), 'auth-console-'));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'],
  });
  try {
    console.log(`chromium ${browser.version()}, issuer ${ISSUER}`);
    await admin(browser);
    await account(browser);
    check(problems.length === 0, `the browser reported:\n  ${problems.join('\n  ')}`);
    console.log(`all ${steps.length} steps passed`);
  } finally {
    await browser.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  }
}

async function admin(browser) {
  const context = await newContext(browser);
  const page = await context.newPage();

  await step('(a) an admin signs in to /admin/ with password + TOTP through the hosted sign-in', async () => {
    await page.goto(new URL('/admin/', ISSUER).toString());
    await signInWithPassword(page, ADMIN_USERNAME, ADMIN_PASSWORD);
    await page.waitForSelector('input[name=code]');
    // The enrolment spent the current step: the next one is in the window.
    await page.fill('input[name=code]', totp(ADMIN_SECRET, 1));
    const response = await submit(page, 'form button[type=submit]');
    eq(pathOf(page.url()), '/admin/', 'after the second step the browser is on');
    await checkPage(page, response, 'overview');
    eq(await page.getAttribute('html', 'lang'), 'ko', '<html lang> of a ko-KR browser');
    await shot(page, 'overview');
  });

  let userPage;
  await step('(b) the admin finds the user and opens their page', async () => {
    await page.click('nav a[href$="/admin/users"]');
    await page.waitForLoadState('load');
    await page.fill('#query', TARGET_LOGIN);
    const list = await submit(page, 'form[role=search] button');
    await checkPage(page, list, 'users search');
    const link = page.locator('tbody tr', { hasText: TARGET_LOGIN }).locator('a').first();
    check((await link.count()) === 1, `the search lists ${TARGET_LOGIN}`);
    await shot(page, 'users');
    const response = await submit(page, `tbody tr:has-text("${TARGET_LOGIN}") a`);
    await checkPage(page, response, 'user page');
    userPage = page.url();
  });

  await step('(c) revoking the session while its socket is connected: the device receives LOGOUT', async () => {
    // The device: another browser whose app holds the target's access
    // token (its own page's policy is not ours: CSP bypassed here).
    const deviceContext = await browser.newContext({ bypassCSP: true });
    const device = await deviceContext.newPage();
    const ws = new URL('/ws', ISSUER);
    ws.protocol = 'ws:';
    ws.searchParams.set('token', TARGET_ACCESS);
    await device.goto(new URL('/assets/console.css', ISSUER).toString());
    await device.evaluate((url) => {
      window.frames_ = [];
      window.socket_ = new WebSocket(url);
      window.socket_.onmessage = (e) => window.frames_.push(e.data);
      return new Promise((resolve, reject) => {
        window.socket_.onopen = resolve;
        window.socket_.onerror = () => reject(new Error('socket error'));
      });
    }, ws.toString());
    await page.goto(userPage);
    const row = page.locator('tbody tr', { hasText: 'standard' }).first();
    check((await row.locator('.badge').count()) === 1, 'the session row says a socket is connected');
    await shot(page, 'user');
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), row.locator('button').click()]);
    check(page.url().includes('done=session'), `after revoke: ${page.url()}`);
    const frame = await device.waitForFunction(() => window.frames_.find((f) => JSON.parse(f).type === 'LOGOUT'), null, {
      timeout: 5000,
    });
    const logout = JSON.parse(await frame.jsonValue());
    eq(logout.type, 'LOGOUT', 'the frame the device received');
    eq(await page.locator('tbody tr', { hasText: 'standard' }).count(), 0, 'standard sessions left on the page');
    await deviceContext.close();
  });

  await step('(d) the other console pages answer and pass axe', async () => {
    for (const [path, name] of [
      ['/admin/apps', 'apps'],
      ['/admin/clients', 'clients'],
      ['/admin/keys', 'keys'],
      ['/admin/audit', 'audit'],
    ]) {
      const response = await page.goto(new URL(path, ISSUER).toString());
      await checkPage(page, response, path);
      await shot(page, name);
    }
  });

  await step('(e) English by the switch; the skip link is the first stop of the keyboard', async () => {
    await page.goto(new URL('/admin/', ISSUER).toString());
    await submit(page, 'header .tools a[lang=en]');
    eq(await page.getAttribute('html', 'lang'), 'en', '<html lang> after the switch');
    eq((await page.locator('h1').innerText()).trim(), 'Overview', 'English title');
    await page.keyboard.press('Tab');
    eq(await page.evaluate(() => document.activeElement?.className), 'skip', 'first Tab stop');
    await submit(page, 'header .tools a[lang=ko]');
  });
  await context.close();
}

async function account(browser) {
  const context = await newContext(browser, { viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);

  await step('(f) a user signs in to /account/ (phone width, no horizontal scroll)', async () => {
    await page.goto(new URL('/account/', ISSUER).toString());
    const response = await signInWithPassword(page, USER_USERNAME, USER_PASSWORD);
    eq(pathOf(page.url()), '/account/', 'after sign-in the browser is on');
    await checkPage(page, response, 'account');
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    check(width <= 391, `the page is ${width}px wide on a 390px screen`);
    await shot(page, 'account');
  });

  await step('(g) TOTP enrolment from the QR page; the recovery codes are shown once', async () => {
    const qr = await submit(page, 'form[action$="/account/totp/enroll"] button');
    await checkPage(page, qr, 'TOTP enrolment');
    const img = page.locator('img.qr');
    check((await img.getAttribute('src')).startsWith('data:image/svg+xml;base64,'), 'the QR code is an SVG image');
    check(await img.evaluate((i) => i.complete && i.naturalWidth > 0), 'the QR code renders');
    await shot(page, 'totp');
    const secret = (await page.locator('#totp-secret').innerText()).trim();
    await page.fill('#totp-code', totp(secret));
    const codes = await submit(page, 'form[action$="/account/totp/confirm"] button');
    await checkPage(page, codes, 'recovery codes');
    eq(await page.locator('#recovery-codes li').count(), 10, 'recovery codes shown');
  });

  let authenticatorId;
  await step('(h) a passkey registered through the virtual authenticator', async () => {
    await cdp.send('WebAuthn.enable');
    ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    }));
    await page.goto(new URL('/account/', ISSUER).toString());
    await page.fill('#passkey-name', 'Chromium 패스키');
    await Promise.all([page.waitForURL(/done=passkey/), page.click('#passkey-register button')]);
    check((await page.locator('#security li', { hasText: 'Chromium 패스키' }).count()) === 1, 'the passkey is listed');
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    eq(credentials.length, 1, 'credentials in the virtual authenticator');
  });

  await step('(i) signed out, then back in with the passkey', async () => {
    const out = await submit(page, 'header form button');
    eq(out.status(), 200, 'signed-out page');
    await page.goto(new URL('/account/', ISSUER).toString());
    eq(pathOf(page.url()), '/login', 'signed out: the account page asks to sign in');
    await page.waitForSelector('#passkey-login:not([hidden])');
    await Promise.all([page.waitForURL((u) => pathOf(u.toString()) === '/account/'), page.click('#passkey-login')]);
    await page.waitForLoadState('load');
    eq(pathOf(page.url()), '/account/', 'after the passkey the browser is on');
    const signCount = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials[0].signCount;
    check(signCount >= 1, `the authenticator signed (count ${signCount})`);
  });

  await step('(j) the user ends another of their sessions', async () => {
    const row = page.locator('#sessions ~ div tbody tr', { hasText: 'standard' }).first();
    check((await row.count()) === 1, 'the other (standard) session is listed');
    await Promise.all([page.waitForURL(/done=session/), row.locator('button').click()]);
    eq(await page.locator('#sessions ~ div tbody tr', { hasText: 'standard' }).count(), 0, 'standard sessions left');
    await accessible(page, 'account after the revoke');
  });
  await context.close();
}

main().catch((e) => {
  console.error(`FAIL after ${steps.length} steps: ${e.stack || e.message}`);
  if (problems.length) console.error(`the browser also reported:\n  ${problems.join('\n  ')}`);
  process.exit(1);
});
