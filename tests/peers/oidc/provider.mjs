// The OpenID provider the SSO tests sign in against: `oidc-provider` (a certified implementation)
// on loopback, with its development login and consent pages. One client, a fixed set of accounts.
//
// Reads one JSON object from the environment variable OIDC_PEER:
//   {port, issuer, client_id, client_secret, redirect_uris, accounts: {login: claims}}
// and prints "listening <port>" once it serves.
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const peer = JSON.parse(process.env.OIDC_PEER);
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'peer-rs256', alg: 'RS256', use: 'sig' };

const provider = new Provider(peer.issuer, {
  clients: [{
    client_id: peer.client_id,
    client_secret: peer.client_secret,
    redirect_uris: peer.redirect_uris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [jwk] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    groups: ['groups'],
  },
  conformIdTokenClaims: false, // the claims asked for by scope go in the ID token too
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['fluxrouter-test-peer-cookie-key'] },
  async findAccount(ctx, sub) {
    const claims = peer.accounts[sub] ?? { email: `${sub}@peer.test` };
    return { accountId: sub, async claims() { return { sub, ...claims }; } };
  },
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));

const server = provider.listen(peer.port, '127.0.0.1', () => {
  console.log(`listening ${peer.port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
