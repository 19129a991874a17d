// The hosted pages (sign-in, consent, logout, password reset) in a real
// browser: Debian's chromium driven by playwright-core. Run by
// `tests/tests/browser.rs` (`cargo test -p auth-contract-tests --test
// browser`), which starts the server, creates the user and the clients, and
// listens on the clients' redirect URIs; everything comes in through
// environment variables (see `env` below).
//
// Every check says what it expected and what it saw; the first failure
// ends the run with exit code 1 (the Rust test prints this output).
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

import { check, env, eq, fail, pathOf, step, steps, submit, totp } from './lib.mjs';


const ISSUER = env('BT_ISSUER'); // http://127.0.0.1:PORT, the public URL
const USERNAME = env('BT_USERNAME');
const PASSWORD = env('BT_PASSWORD');
const EMAIL = env('BT_EMAIL');
const CLIENT_ID = env('BT_CLIENT_ID'); // not first-party: asks for consent
const CLIENT_SECRET = env('BT_CLIENT_SECRET');
const CLIENT_NAME = env('BT_CLIENT_NAME');
const DENY_CLIENT_ID = env('BT_DENY_CLIENT_ID'); // a second one, for "deny"
const REDIRECT_URI = env('BT_REDIRECT_URI');
const POST_LOGOUT_URI = env('BT_POST_LOGOUT_URI');
const CHROMIUM = process.env.BT_CHROMIUM || '/usr/bin/chromium';
const MFA_USERNAME = env('BT_MFA_USERNAME'); // a user with TOTP on
const MFA_PASSWORD = env('BT_MFA_PASSWORD');
const MFA_SECRET = env('BT_MFA_SECRET'); // base32
const PK_ISSUER = env('BT_PK_ISSUER'); // http://localhost:PORT: a relying party
const PK_USERNAME = env('BT_PK_USERNAME');
const PK_PASSWORD = env('BT_PK_PASSWORD');
const PK_ACCESS = env('BT_PK_ACCESS'); // the user's access token, to register a passkey
const PK_CLIENT_ID = env('BT_PK_CLIENT_ID');
const PK_CLIENT_SECRET = env('BT_PK_CLIENT_SECRET');


const b64url = (buf) => Buffer.from(buf).toString('base64url');
const random = () => b64url(randomBytes(24));

/// A fresh PKCE pair (RFC 7636, S256), computed here as a client would.
function pkce() {
  const verifier = b64url(randomBytes(48));
  const challenge = b64url(createHash('sha256').update(verifier, 'ascii').digest());
  return { verifier, challenge };
}

/// An authorization request: its URL and what the client keeps.
function authorizeRequest(clientId = CLIENT_ID, issuer = ISSUER) {
  const { verifier, challenge } = pkce();
  const state = random();
  const nonce = random();
  const url = new URL('/oauth2/authorize', issuer);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT_URI,
    scope: 'openid profile email',
    state,
    nonce,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  return { url: url.toString(), verifier, state, nonce };
}

function claims(jwt) {
  const parts = jwt.split('.');
  check(parts.length === 3, `not a JWT: ${jwt}`);
  return JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
}

const issuerOrigin = new URL(ISSUER).origin;
const onIssuer = (url) => new URL(url).origin === issuerOrigin;

// Everything the browser says that it should not: console errors (CSP
// violations among them), uncaught exceptions, violation events, failed
// requests. Each entry names the page it happened on.
const problems = [];
// HTTP statuses the browser logs as console errors on purpose-made
// pages (a wrong password answers 401): "status|path" → times allowed.
const expectedStatusLogs = new Map();

function watch(page) {
  page.on('console', (msg) => {
    const text = msg.text();
    const where = page.url();
    if (msg.type() === 'error' || /Content Security Policy|Refused to/i.test(text)) {
      const m = /the server responded with a status of (\d+)/.exec(text);
      const key = m && `${m[1]}|${pathOf(msg.location().url || where)}`;
      if (key && (expectedStatusLogs.get(key) || 0) > 0) {
        expectedStatusLogs.set(key, expectedStatusLogs.get(key) - 1);
        return;
      }
      const from = msg.location().url;
      problems.push(`console ${msg.type()} on ${where}: ${text}${from && from !== where ? ` (${from})` : ''}`);
    }
  });
  page.on('pageerror', (err) => problems.push(`uncaught error on ${page.url()}: ${err.message}`));
  page.on('requestfailed', (req) => {
    problems.push(`request failed on ${page.url()}: ${req.method()} ${req.url()}: ${req.failure()?.errorText}`);
  });
}

async function watchContext(context) {
  context.setDefaultTimeout(15_000);
  context.setDefaultNavigationTimeout(15_000);
  // A violation the console might word differently still reaches us.
  await context.exposeBinding('__reportViolation', ({ page }, v) => {
    problems.push(`CSP violation on ${page.url()}: ${v.directive} blocked ${v.blocked}`);
  });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      // eslint-disable-next-line no-undef
      window.__reportViolation({ directive: e.violatedDirective, blocked: e.blockedURI });
    });
  });
  context.on('page', watch);
  for (const page of context.pages()) watch(page);
}

/// What every hosted page must show: served from the issuer with a CSP
/// (default-src 'none'), the stylesheet from /assets/auth.css applied.
async function checkHostedPage(page, response, lang, what) {
  check(onIssuer(page.url()), `${what}: expected a page of the issuer, at ${page.url()}`);
  check(response, `${what}: no response`);
  const csp = (await response.allHeaders())['content-security-policy'];
  check(csp, `${what}: no Content-Security-Policy header`);
  check(csp.includes("default-src 'none'"), `${what}: CSP without default-src 'none': ${csp}`);
  eq(await page.getAttribute('html', 'lang'), lang, `${what}: <html lang>`);
  const sheet = await page.evaluate(() =>
    [...document.styleSheets].map((s) => ({ href: s.href, rules: s.cssRules.length })),
  );
  check(
    sheet.some((s) => s.href && new URL(s.href).pathname === '/assets/auth.css' && s.rules > 0),
    `${what}: /assets/auth.css not loaded (stylesheets: ${JSON.stringify(sheet)})`,
  );
  const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  eq(background, 'rgb(244, 245, 247)', `${what}: body background from auth.css`);
}

/// Navigates and returns the last response of the chain, with every URL
/// the main frame went through (redirects included).
async function go(page, url) {
  const chain = [];
  const onRequest = (req) => {
    if (req.isNavigationRequest() && req.frame() === page.mainFrame()) chain.push(req.url());
  };
  page.on('request', onRequest);
  try {
    const response = await page.goto(url, { waitUntil: 'load' });
    return { response, chain };
  } finally {
    page.off('request', onRequest);
  }
}


/// The query of the redirect URI the browser landed on, checked to be
/// `uri` (without query).
function landedOn(page, uri, what) {
  const url = new URL(page.url());
  eq(`${url.origin}${url.pathname}`, uri, `${what}: where the browser landed`);
  return url.searchParams;
}

async function exchange(code, verifier, issuer = ISSUER, clientId = CLIENT_ID, clientSecret = CLIENT_SECRET) {
  const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString(
    'base64',
  );
  const response = await fetch(new URL('/oauth2/token', issuer), {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    }),
  });
  const text = await response.text();
  eq(response.status, 200, `token exchange (${text})`);
  return JSON.parse(text);
}

async function ssoCookie(context, issuer = ISSUER) {
  return (await context.cookies(issuer)).find((c) => c.name === 'auth_sso' || c.name === '__Host-auth_sso');
}


async function main() {
  const profile = mkdtempSync(join(tmpdir(), 'auth-browser-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    locale: 'ko-KR',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    console.log(`chromium ${context.browser()?.version()}, issuer ${ISSUER}`);
    await run(context);
  } finally {
    await context.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  }
}

async function run(context) {
  await watchContext(context);
  const page = context.pages()[0] ?? (await context.newPage());
  let first; // the first authorization request
  let tokens; // its tokens

  await step('(a) authorize → the sign-in page, in Korean', async () => {
    first = authorizeRequest();
    const { response } = await go(page, first.url);
    eq(pathOf(page.url()), '/login', 'authorize without a session leads to');
    await checkHostedPage(page, response, 'ko', 'sign-in page');
    eq(await page.locator('label[for=username]').innerText(), '아이디 또는 이메일', 'username label');
    eq(await page.locator('label[for=password]').innerText(), '비밀번호', 'password label');
    eq(await page.locator('#submit').innerText(), '로그인', 'submit button');
    const heading = await page.locator('h1').innerText();
    check(heading.includes(CLIENT_NAME), `the heading names the client: ${heading}`);
    eq(await page.locator('input[name=username]').count(), 1, 'a field named username');
    eq(await page.locator('input[name=password][type=password]').count(), 1, 'a password field named password');
    // This server's public URL is an IP address: passkeys are off.
    eq(await page.locator('#passkey-login').count(), 0, 'a passkey sign-in button where passkeys are off');
    eq(await page.locator('script').count(), 0, 'scripts on the sign-in page without passkeys');
  });

  await step('(a) a wrong password shows the error and stays on the page', async () => {
    await page.fill('input[name=username]', USERNAME);
    await page.fill('input[name=password]', `${PASSWORD}-wrong`);
    expectedStatusLogs.set('401|/login', 1);
    const response = await submit(page, '#submit');
    eq(response.status(), 401, 'status of a wrong password');
    eq(pathOf(page.url()), '/login', 'after a wrong password the browser is on');
    await checkHostedPage(page, response, 'ko', 'sign-in page after a wrong password');
    eq(
      (await page.locator('.error[role=alert]').innerText()).trim(),
      '아이디 또는 비밀번호가 올바르지 않습니다.',
      'the error line',
    );
    eq(await page.inputValue('input[name=username]'), USERNAME, 'the username is kept');
    eq(await page.inputValue('input[name=password]'), '', 'the password is not');
  });

  await step('(a) the right password → the consent page (not first-party)', async () => {
    await page.fill('input[name=password]', PASSWORD);
    const response = await submit(page, '#submit');
    eq(pathOf(page.url()), '/consent', 'after signing in the browser is on');
    await checkHostedPage(page, response, 'ko', 'consent page');
    eq(await page.locator('h1').innerText(), '접근 허용', 'consent title');
    check((await page.locator('main').innerText()).includes(CLIENT_NAME), 'the consent page names the client');
    eq(await page.locator('button[name=consent][value=allow]').count(), 1, 'an allow button');
    eq(await page.locator('button[name=consent][value=deny]').count(), 1, 'a deny button');
  });

  await step('(a) allow → the redirect URI with code, state and iss', async () => {
    await submit(page, 'button[name=consent][value=allow]');
    const q = landedOn(page, REDIRECT_URI, 'after allow');
    check(q.get('code'), `no code in ${page.url()}`);
    eq(q.get('state'), first.state, 'state');
    eq(q.get('iss'), ISSUER, 'iss');
    first.code = q.get('code');
  });

  await step('(b) the code at /oauth2/token gives an id_token', async () => {
    tokens = await exchange(first.code, first.verifier);
    check(tokens.id_token, `no id_token in ${JSON.stringify(tokens)}`);
    check(tokens.access_token, 'no access_token');
    const id = claims(tokens.id_token);
    eq(id.iss, ISSUER, 'id_token iss');
    eq(Array.isArray(id.aud) ? id.aud[0] : id.aud, CLIENT_ID, 'id_token aud');
    eq(id.nonce, first.nonce, 'id_token nonce');
    check(id.sub, 'id_token sub');
  });

  await step('(g) the SSO cookie is HttpOnly and SameSite=Lax', async () => {
    const sso = await ssoCookie(context);
    check(sso, `no SSO cookie; cookies: ${JSON.stringify(await context.cookies(ISSUER))}`);
    eq(sso.httpOnly, true, 'SSO cookie HttpOnly');
    eq(sso.sameSite, 'Lax', 'SSO cookie SameSite');
    eq(sso.path, '/', 'SSO cookie path');
  });

  await step('(c) a second authorize is single sign-on: no password, no consent', async () => {
    const again = authorizeRequest();
    const { chain } = await go(page, again.url);
    const q = landedOn(page, REDIRECT_URI, 'second authorize');
    eq(q.get('state'), again.state, 'state');
    eq(q.get('iss'), ISSUER, 'iss');
    const hosted = chain.filter((u) => onIssuer(u) && ['/login', '/consent'].includes(pathOf(u)));
    eq(hosted.length, 0, `hosted pages shown on the way (${chain.join(' → ')})`);
    const t = await exchange(q.get('code'), again.verifier);
    eq(claims(t.id_token).sub, claims(tokens.id_token).sub, 'the same user');
  });

  await step('(e) deny on consent → error=access_denied', async () => {
    const other = authorizeRequest(DENY_CLIENT_ID);
    const { response } = await go(page, other.url);
    eq(pathOf(page.url()), '/consent', 'another client (signed in) leads to');
    await checkHostedPage(page, response, 'ko', 'consent page of the other client');
    await submit(page, 'button[name=consent][value=deny]');
    const q = landedOn(page, REDIRECT_URI, 'after deny');
    eq(q.get('error'), 'access_denied', 'error');
    eq(q.get('state'), other.state, 'state');
    eq(q.get('iss'), ISSUER, 'iss');
    eq(q.get('code'), null, 'code after deny');
  });

  await step('(h) logout with id_token_hint → post_logout_redirect_uri with state', async () => {
    const state = random();
    const url = new URL('/oauth2/logout', ISSUER);
    url.search = new URLSearchParams({
      id_token_hint: tokens.id_token,
      post_logout_redirect_uri: POST_LOGOUT_URI,
      state,
    }).toString();
    await go(page, url.toString());
    const q = landedOn(page, POST_LOGOUT_URI, 'after logout');
    eq(q.get('state'), state, 'state after logout');
    eq(await ssoCookie(context), undefined, 'SSO cookie after logout');
  });

  await step('(h) after logout, authorize asks for the password again', async () => {
    const again = authorizeRequest();
    await go(page, again.url);
    eq(pathOf(page.url()), '/login', 'authorize after logout leads to');
    await page.fill('input[name=username]', USERNAME);
    await page.fill('input[name=password]', PASSWORD);
    await submit(page, '#submit');
    // Consent was given before: straight back to the client.
    const q = landedOn(page, REDIRECT_URI, 'signing in again');
    eq(q.get('state'), again.state, 'state');
    check(q.get('code'), 'a code after signing in again');
  });

  await step('(h) logout without a hint asks; its button signs out', async () => {
    const { response } = await go(page, new URL('/oauth2/logout', ISSUER).toString());
    eq(pathOf(page.url()), '/oauth2/logout', 'logout without a hint shows');
    await checkHostedPage(page, response, 'ko', 'logout confirmation');
    eq(await page.locator('main p').first().innerText(), '로그아웃하시겠습니까?', 'the question');
    const done = await submit(page, '#logout');
    await checkHostedPage(page, done, 'ko', 'signed-out page');
    eq(await page.locator('p.message').innerText(), '로그아웃되었습니다.', 'signed out');
    eq(await ssoCookie(context), undefined, 'SSO cookie after the confirmed logout');
    await go(page, authorizeRequest().url);
    eq(pathOf(page.url()), '/login', 'authorize after the confirmed logout leads to');
  });

  await step('(h) logout with client_id, no hint: confirmed, then back to the client', async () => {
    // Signed in again (consent is remembered: straight to the client).
    await page.fill('input[name=username]', USERNAME);
    await page.fill('input[name=password]', PASSWORD);
    await submit(page, '#submit');
    landedOn(page, REDIRECT_URI, 'signing in once more');
    const state = random();
    const url = new URL('/oauth2/logout', ISSUER);
    url.search = new URLSearchParams({
      client_id: CLIENT_ID,
      post_logout_redirect_uri: POST_LOGOUT_URI,
      state,
    }).toString();
    const { response } = await go(page, url.toString());
    await checkHostedPage(page, response, 'ko', 'logout confirmation with client_id');
    // The form posts here and is answered with a redirect to the client:
    // the page's form-action must allow both.
    await submit(page, '#logout');
    const q = landedOn(page, POST_LOGOUT_URI, 'after the confirmed logout with client_id');
    eq(q.get('state'), state, 'state');
    eq(await ssoCookie(context), undefined, 'SSO cookie');
    await go(page, authorizeRequest().url);
    eq(pathOf(page.url()), '/login', 'authorize after it leads to');
  });

  await step('(i) the password-reset link opens the reset page', async () => {
    // On the sign-in page the last step left open.
    const response = await submit(page, '#forgot');
    eq(pathOf(page.url()), '/password-reset', 'the reset link leads to');
    await checkHostedPage(page, response, 'ko', 'password-reset page');
    eq(await page.locator('h1').innerText(), '비밀번호 재설정', 'reset title');
    await page.fill('input[name=loginId]', USERNAME);
    await page.fill('input[name=email]', EMAIL);
    const sent = await submit(page, '#send');
    await checkHostedPage(page, sent, 'ko', 'password-reset page, step 2');
    check(
      (await page.locator('p.message[role=status]').innerText()).includes('인증 코드'),
      'the code-sent note',
    );
    eq(await page.locator('input[name=code]').count(), 1, 'a code field');
    eq(await page.locator('input[name=newPassword]').count(), 1, 'a new-password field');
  });

  await step('(j) a user with a second factor: the password leads to the code step', async () => {
    await context.clearCookies();
    const request = authorizeRequest();
    await go(page, request.url);
    eq(pathOf(page.url()), '/login', 'authorize without a session leads to');
    await page.fill('input[name=username]', MFA_USERNAME);
    await page.fill('input[name=password]', MFA_PASSWORD);
    const response = await submit(page, '#submit');
    eq(pathOf(page.url()), '/login', 'the second step is served at');
    await checkHostedPage(page, response, 'ko', 'second-step page');
    eq(await page.locator('h1').innerText(), '추가 인증', 'second-step title');
    eq(await page.locator('input[name=code]').count(), 1, 'a field named code');
    eq(await page.locator('input[name=password]').count(), 0, 'no password field');
    eq(await ssoCookie(context), undefined, 'no SSO cookie before the second step');

    const right = totp(MFA_SECRET, 1); // the enrolment spent the current step
    const wrong = right === '000000' ? '111111' : '000000';
    await page.fill('input[name=code]', wrong);
    expectedStatusLogs.set('401|/login', 1);
    const refused = await submit(page, '#verify');
    eq(refused.status(), 401, 'status of a wrong code');
    eq((await page.locator('.error[role=alert]').innerText()).trim(), '코드가 올바르지 않습니다.', 'the error line');
    eq(await page.locator('input[name=code]').count(), 1, 'the code field again');

    await page.fill('input[name=code]', right);
    const accepted = await submit(page, '#verify');
    eq(pathOf(page.url()), '/consent', 'after the code the browser is on');
    await checkHostedPage(page, accepted, 'ko', 'consent page after the second step');
    await submit(page, 'button[name=consent][value=allow]');
    const q = landedOn(page, REDIRECT_URI, 'after allow');
    eq(q.get('state'), request.state, 'state');
    const t = await exchange(q.get('code'), request.verifier);
    const id = claims(t.id_token);
    eq(JSON.stringify(id.amr), JSON.stringify(['pwd', 'otp', 'mfa']), 'id_token amr');
    check(typeof id.auth_time === 'number', `id_token auth_time: ${id.auth_time}`);
    await context.clearCookies();
  });

  let authenticator; // the virtual authenticator (k) sets up, with its CDP session
  await step('(k) a user with a passkey: the second step\'s passkey button signs in', async () => {
    await context.clearCookies();
    // Chromium's virtual authenticator: a platform passkey that verifies
    // the user (CTAP2, resident keys), answering without a prompt.
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });
    const request = authorizeRequest(PK_CLIENT_ID, PK_ISSUER);
    await go(page, request.url);
    eq(pathOf(page.url()), '/login', 'authorize on the passkey server leads to');
    // Register a passkey from the page's origin, as the account page will.
    const registered = await page.evaluate(async (token) => {
      const auth = { authorization: `Bearer ${token}` };
      const start = await fetch('/api/mfa/webauthn/register/start', { method: 'POST', headers: auth }).then((r) => r.json());
      const created = await navigator.credentials.create({
        publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(start.publicKey),
      });
      const finish = await fetch('/api/mfa/webauthn/register/finish', {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Chromium', credential: created.toJSON() }),
      });
      return { status: finish.status, body: await finish.json() };
    }, PK_ACCESS);
    eq(registered.status, 200, `passkey registration (${JSON.stringify(registered.body)})`);
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    eq(credentials.length, 1, 'credentials in the virtual authenticator');

    await page.fill('input[name=username]', PK_USERNAME);
    await page.fill('input[name=password]', PK_PASSWORD);
    const stepPage = await submit(page, '#submit');
    const csp = (await stepPage.allHeaders())['content-security-policy'] || '';
    check(csp.includes("script-src 'self'") && !csp.includes('unsafe-inline'), `second-step CSP: ${csp}`);
    await page.waitForSelector('#passkey:not([hidden])');
    eq((await page.locator('#passkey').innerText()).trim(), '패스키 사용', 'passkey button');
    await submit(page, '#passkey');
    eq(pathOf(page.url()), '/consent', 'after the passkey the browser is on');
    const signCount = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials[0].signCount;
    check(signCount >= 1, `the authenticator signed (count ${signCount})`);
    authenticator = { cdp, authenticatorId, signCount };
    await context.clearCookies();
  });

  await step('(l) the sign-in page\'s passkey button signs in without a password', async () => {
    const { cdp, authenticatorId } = authenticator;
    const request = authorizeRequest(PK_CLIENT_ID, PK_ISSUER);
    const { response } = await go(page, request.url);
    eq(pathOf(page.url()), '/login', 'authorize without a session leads to');
    const csp = (await response.allHeaders())['content-security-policy'] || '';
    check(csp.includes("script-src 'self'") && !csp.includes('unsafe-inline'), `sign-in page CSP: ${csp}`);
    await page.waitForSelector('#passkey-login:not([hidden])');
    eq((await page.locator('#passkey-login').innerText()).trim(), '패스키로 로그인', 'passkey sign-in button');
    eq(await page.locator('script:not([src])').count(), 0, 'inline scripts');
    eq(await page.locator('[onclick]').count(), 0, 'inline event handlers');
    await submit(page, '#passkey-login');
    eq(pathOf(page.url()), '/consent', 'after the passkey the browser is on');
    check(await ssoCookie(context, PK_ISSUER), 'an SSO cookie after the passkey sign-in');
    await submit(page, 'button[name=consent][value=allow]');
    const q = landedOn(page, REDIRECT_URI, 'after allow');
    eq(q.get('state'), request.state, 'state');
    eq(q.get('iss'), PK_ISSUER, 'iss');
    const t = await exchange(q.get('code'), request.verifier, PK_ISSUER, PK_CLIENT_ID, PK_CLIENT_SECRET);
    const id = claims(t.id_token);
    const amr = JSON.stringify(id.amr);
    check(amr === '["hwk","mfa"]' || amr === '["swk","mfa"]', `id_token amr of a passkey sign-in: ${amr}`);
    const signCount = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials[0].signCount;
    check(signCount > authenticator.signCount, `the authenticator signed again (count ${signCount})`);
    await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
    await context.clearCookies();
  });

  await step('(d) Accept-Language: en-US,en;q=0.9 → English', async () => {
    const en = await context.browser().newContext({
      locale: 'en-US',
      extraHTTPHeaders: { 'accept-language': 'en-US,en;q=0.9' },
    });
    try {
      await watchContext(en);
      const p = await en.newPage();
      const { response } = await go(p, authorizeRequest().url);
      eq(pathOf(p.url()), '/login', 'authorize in a new context leads to');
      await checkHostedPage(p, response, 'en', 'English sign-in page');
      eq(await p.locator('label[for=username]').innerText(), 'Username or email', 'username label');
      eq(await p.locator('label[for=password]').innerText(), 'Password', 'password label');
      eq(await p.locator('#submit').innerText(), 'Sign in', 'submit button');
      eq(await p.locator('#forgot').innerText(), 'Forgot your password?', 'reset link');
    } finally {
      await en.close();
    }
  });

  await step('(a) a language the pages do not have (fr-FR) → Korean, the default', async () => {
    const fr = await context.browser().newContext({ locale: 'fr-FR' });
    try {
      await watchContext(fr);
      const p = await fr.newPage();
      const { response } = await go(p, authorizeRequest().url);
      eq(pathOf(p.url()), '/login', 'authorize in a new context leads to');
      await checkHostedPage(p, response, 'ko', 'sign-in page for fr-FR');
      eq(await p.locator('label[for=password]').innerText(), '비밀번호', 'password label');
    } finally {
      await fr.close();
    }
  });

  await step('(f) no console error, uncaught error or CSP violation on any page', async () => {
    check(problems.length === 0, `the browser reported:\n  ${problems.join('\n  ')}`);
    const unused = [...expectedStatusLogs].filter(([, n]) => n > 0).map(([k]) => k);
    // Not a failure: a browser may stop logging statuses of documents.
    if (unused.length) console.log(`note: no console line for the expected statuses ${unused.join(', ')}`);
  });
}

const deadline = setTimeout(() => fail('the browser test took over 90 s'), 90_000);
deadline.unref();
try {
  await main();
  console.log(`${steps.length} passed, 0 failed`);
} catch (err) {
  console.error(`FAIL after ${steps.length} passed step(s): ${err.stack || err.message}`);
  if (problems.length) console.error(`the browser also reported:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
