// A real OpenID Connect issuer on 127.0.0.1 for the end-to-end SSO test: discovery, an
// authorization endpoint that signs in whoever `signInAs` names at once (no page to click), a
// token endpoint that checks the client's secret, the code and its PKCE verifier, and RS256 ID
// tokens with a key of this run. The gateway treats it like any organisation's provider.
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { createServer } from 'node:http';

export const CLIENT_ID = 'gatehouse-e2e';

const b64url = (buf) => Buffer.from(buf).toString('base64url');

export async function startIssuer() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'e2e-1', alg: 'RS256', use: 'sig' };
  const clientSecret = b64url(randomBytes(24));
  const grants = new Map();
  const issuer = { url: '', clientSecret, claims: {}, handedOut: [] };

  const json = (res, status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const idToken = (claims) => {
    const head = b64url(JSON.stringify({ alg: 'RS256', kid: jwk.kid, typ: 'JWT' }));
    const body = b64url(JSON.stringify(claims));
    const signature = sign('RSA-SHA256', Buffer.from(`${head}.${body}`), privateKey);
    return `${head}.${body}.${b64url(signature)}`;
  };

  const server = createServer(async (req, res) => {
    const url = new URL(req.url, issuer.url);
    if (url.pathname === '/.well-known/openid-configuration') {
      return json(res, 200, {
        issuer: issuer.url,
        authorization_endpoint: `${issuer.url}/authorize`,
        token_endpoint: `${issuer.url}/token`,
        jwks_uri: `${issuer.url}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
      });
    }
    if (url.pathname === '/jwks') return json(res, 200, { keys: [jwk] });
    if (url.pathname === '/authorize') {
      const q = url.searchParams;
      if (q.get('client_id') !== CLIENT_ID || q.get('code_challenge_method') !== 'S256') {
        return json(res, 400, { error: 'invalid_request' });
      }
      const code = b64url(randomBytes(24));
      issuer.handedOut.push(code);
      grants.set(code, {
        redirect: q.get('redirect_uri'),
        challenge: q.get('code_challenge'),
        nonce: q.get('nonce'),
        claims: { ...issuer.claims },
      });
      const back = new URL(q.get('redirect_uri'));
      back.searchParams.set('code', code);
      back.searchParams.set('state', q.get('state'));
      res.writeHead(302, { location: back.toString() });
      return res.end();
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      let raw = '';
      for await (const chunk of req) raw += chunk;
      const form = new URLSearchParams(raw);
      let [id, secret] = [form.get('client_id'), form.get('client_secret')];
      const basic = req.headers.authorization?.match(/^Basic (.+)$/);
      if (basic) [id, secret] = Buffer.from(basic[1], 'base64').toString().split(':');
      if (id !== CLIENT_ID || secret !== clientSecret) return json(res, 401, { error: 'invalid_client' });
      const grant = grants.get(form.get('code'));
      grants.delete(form.get('code'));
      const verifier = form.get('code_verifier') ?? '';
      if (
        !grant ||
        grant.redirect !== form.get('redirect_uri') ||
        b64url(createHash('sha256').update(verifier).digest()) !== grant.challenge
      ) {
        return json(res, 400, { error: 'invalid_grant' });
      }
      const now = Math.floor(Date.now() / 1000);
      const token = idToken({
        iss: issuer.url,
        aud: CLIENT_ID,
        sub: `e2e-${createHash('sha256').update(grant.claims.email ?? '').digest('hex').slice(0, 16)}`,
        iat: now,
        exp: now + 600,
        nonce: grant.nonce,
        ...grant.claims,
      });
      issuer.handedOut.push(token);
      return json(res, 200, { access_token: b64url(randomBytes(16)), token_type: 'Bearer', expires_in: 600, id_token: token });
    }
    json(res, 404, { error: 'not_found' });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer.url = `http://127.0.0.1:${server.address().port}`;
  /** The next sign-ins are of an account with these claims. */
  issuer.signInAs = (claims) => {
    issuer.claims = claims;
  };
  issuer.stop = () => new Promise((resolve) => server.close(resolve));
  return issuer;
}
