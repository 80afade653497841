// A real OpenID Connect provider for tests/sso (oidc-provider from npm, under Node).
// Configured from one JSON argument: { port, client_id, client_secret, redirect_uri, jwks }.
// Who signs in is said by the test, as a person would type it: GET /interaction/<uid>?login=<id>.
// Every account's claims: sub = the login, FrEduCtId = the login, given_name "Élève".
import Provider from 'oidc-provider';

const options = JSON.parse(process.argv[2]);
const issuer = `http://127.0.0.1:${options.port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: options.client_id,
    client_secret: options.client_secret,
    redirect_uris: [options.redirect_uri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: options.jwks,
  pkce: { required: () => true },  // enforced for confidential clients too
  conformIdTokenClaims: false,  // the profile claims in the ID token, as EduConnect's OIDC does
  claims: { openid: ['sub'], profile: ['FrEduCtId', 'given_name'] },
  features: { devInteractions: { enabled: false } },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() { return { sub: id, FrEduCtId: id, given_name: 'Élève' }; },
    };
  },
  async loadExistingGrant(ctx) {
    // Consent is the school's: every sign-in grants openid and profile to the client.
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid profile');
    await grant.save();
    return grant;
  },
});

provider.use(async (ctx, next) => {
  const match = ctx.path.match(/^\/interaction\/([^/]+)$/);
  if (match && ctx.method === 'GET') {
    const login = ctx.query.login;
    if (!login) {
      ctx.status = 200;
      ctx.body = 'who signs in? add ?login=<id>';
      return;
    }
    await provider.interactionFinished(
      ctx.req, ctx.res, { login: { accountId: String(login) } }, { mergeWithLastSubmission: false },
    );
    ctx.respond = false;
    return;
  }
  await next();
});

provider.listen(options.port, '127.0.0.1', () => {
  process.stdout.write(`listening ${issuer}\n`);
});
