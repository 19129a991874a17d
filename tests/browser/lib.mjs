// What the browser scripts (hosted-pages.mjs, console.mjs) share: their
// settings from the environment, checks that say what they expected, the
// TOTP an authenticator app computes, and numbered steps.
import { createHmac } from 'node:crypto';

export function fail(message) {
  console.error(`FAIL: ${message}`);
  process.exit(1);
}

export function env(name) {
  const value = process.env[name];
  if (!value) fail(`environment variable ${name} is not set (the Rust test sets it)`);
  return value;
}

export function check(condition, message) {
  if (!condition) throw new Error(message);
}

export function eq(actual, expected, what) {
  check(actual === expected, `${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

/// The TOTP code (RFC 6238: HMAC-SHA-1, 6 digits, 30 s) of the step
/// `offset` steps from now, computed here as an authenticator app does.
export function totp(secretBase32, offset = 0) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secretBase32.replace(/=+$/, '')) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) key.push(parseInt(bits.slice(i, i + 8), 2));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30) + offset));
  const mac = createHmac('sha1', Buffer.from(key)).update(counter).digest();
  const at = mac[mac.length - 1] & 15;
  return String((mac.readUInt32BE(at) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

export const pathOf = (url) => new URL(url).pathname;

/// Clicks `selector` (a submit button) and waits for the page it leads to.
export async function submit(page, selector) {
  const [response] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click(selector)]);
  return response;
}

/// The steps passed so far, by name.
export const steps = [];

/// Runs one named step and says it passed, with its time.
export async function step(name, body) {
  const started = Date.now();
  await body();
  steps.push(name);
  console.log(`ok - ${name} (${Date.now() - started} ms)`);
}
