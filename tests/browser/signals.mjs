// Logout tokens (OpenID Connect Back-Channel Logout 1.0) and Security
// Event Tokens (RFC 8417, CAEP session-revoked) checked with `jose`
// (panva/jose), a JOSE implementation independent of the server's: the
// key from the JWKS by `kid`, the algorithm, `typ`, `iss`, `aud`, times,
// and each token's own rules. A tampered copy of each must be refused.
//
// Input: BT_ISSUER (the issuer; the JWKS is at /.well-known/jwks.json),
// BT_TOKENS (JSON: [{"kind": "logout"|"set", "token", "audience", "sid",
// "sub"}]). Exit 0 when every check holds; 1 with the reason otherwise.
import { createRemoteJWKSet, jwtVerify } from 'jose';

const LOGOUT = 'http://schemas.openid.net/event/backchannel-logout';
const REVOKED = 'https://schemas.openid.net/secevent/caep/event-type/session-revoked';

function check(cond, what) {
  if (!cond) throw new Error(what);
}

async function main() {
  const issuer = process.env.BT_ISSUER;
  const tokens = JSON.parse(process.env.BT_TOKENS || '[]');
  check(issuer && tokens.length > 0, 'BT_ISSUER and BT_TOKENS are required');
  const jwks = createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`));
  for (const t of tokens) {
    const typ = t.kind === 'logout' ? 'logout+jwt' : 'secevent+jwt';
    const { payload, protectedHeader } = await jwtVerify(t.token, jwks, {
      issuer,
      audience: t.audience,
      typ,
      algorithms: ['RS256', 'ES256', 'EdDSA'],
      maxTokenAge: '5m',
      requiredClaims: t.kind === 'logout' ? ['iat', 'exp', 'jti'] : ['iat', 'jti'],
    });
    if (t.kind === 'logout') {
      // Back-Channel Logout 1.0 §2.6.
      check(JSON.stringify(payload.events) === JSON.stringify({ [LOGOUT]: {} }), `events: ${JSON.stringify(payload.events)}`);
      check(!('nonce' in payload), 'a logout token carries a nonce');
      check(payload.sid === t.sid, `sid ${payload.sid} != ${t.sid}`);
      check(payload.sub === t.sub, `sub ${payload.sub} != ${t.sub}`);
    } else {
      // RFC 8417 and CAEP: one event, the session and user named.
      check(Object.keys(payload.events).length === 1 && payload.events[REVOKED], `events: ${JSON.stringify(payload.events)}`);
      check(Number.isInteger(payload.events[REVOKED].event_timestamp), 'event_timestamp');
      check(payload.sub_id?.session?.id === t.sid, `sub_id: ${JSON.stringify(payload.sub_id)}`);
      check(payload.sub_id?.user?.sub === t.sub && payload.sub_id?.user?.iss === issuer, `sub_id: ${JSON.stringify(payload.sub_id)}`);
    }
    // A flipped character of the payload: the signature no longer holds.
    const [h, p, s] = t.token.split('.');
    const flipped = p.slice(0, -2) + (p.at(-2) === 'A' ? 'B' : 'A') + p.at(-1);
    let refused = false;
    try {
      await jwtVerify(`${h}.${flipped}.${s}`, jwks, { issuer, audience: t.audience, typ });
    } catch {
      refused = true;
    }
    check(refused, `a tampered ${t.kind} token verified`);
    console.log(`ok ${t.kind} ${protectedHeader.alg} ${t.sid}`);
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(`FAILED: ${e.message}`);
    process.exit(1);
  },
);
