import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import Provider, { type Configuration, type KoaContextWithOIDC } from "oidc-provider";
import { createCertificateAuthority, issueCertificate } from "../support/pki.ts";

// A real OpenID Connect issuer for the console's tests: panva's oidc-provider, in-process, serving HTTPS
// on a loopback address with a certificate from the test's own authority (whose file the console is given
// as --oidc-ca-file). Its people sign in on the provider's own development login form with any password;
// consent is taken as given for the console's client, as an organisation's issuer does for its own
// applications. The ID token carries email, email_verified and groups.

export interface IssuerAccount {
  /** What is typed into the issuer's login field. */
  login: string;
  email: string;
  emailVerified?: boolean;
  groups: string[];
}

export interface TestIssuer {
  url: string;
  /** PEM file of the authority that signed the issuer's certificate. */
  caFile: string;
  clientId: string;
  clientSecret: string;
  close(): Promise<void>;
}

const SCOPES = "openid email groups";

export async function startTestIssuer(options: {
  /** A loopback address other than the console's, so the redirect back is a cross-site navigation. */
  host: string;
  workDir: string;
  redirectUrl: string;
  accounts: IssuerAccount[];
  clientSecret: string;
}): Promise<TestIssuer> {
  const pki = join(options.workDir, "issuer-pki");
  mkdirSync(pki, { recursive: true });
  const authority = await createCertificateAuthority(pki, "test OIDC issuer CA");
  const serving = await issueCertificate(authority, pki, {
    name: "issuer",
    commonName: "issuer",
    ipAddresses: [options.host],
    usage: "server",
  });
  const server: Server = createServer({
    cert: readFileSync(serving.certPath),
    key: readFileSync(serving.keyPath),
  });
  await new Promise<void>((resolve) => server.listen(0, options.host, resolve));
  const url = `https://${options.host}:${(server.address() as AddressInfo).port}`;

  const clientId = "tradingbot-console";
  const signingKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" });
  const byLogin = new Map(options.accounts.map((account) => [account.login, account]));
  const configuration: Configuration = {
    clients: [
      {
        client_id: clientId,
        client_secret: options.clientSecret,
        redirect_uris: [options.redirectUrl],
        response_types: ["code"],
        grant_types: ["authorization_code"],
        token_endpoint_auth_method: "client_secret_basic",
      },
    ],
    jwks: { keys: [{ ...signingKey, kid: "test-signing-key", use: "sig", alg: "RS256" }] },
    cookies: { keys: [randomBytes(32).toString("base64url")] },
    claims: { openid: ["sub"], email: ["email", "email_verified"], groups: ["groups"] },
    // Claims in the ID token itself, as the console reads them (not only from the userinfo endpoint).
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true } },
    ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 300, IdToken: 300 },
    async findAccount(_ctx, id) {
      const account = byLogin.get(id);
      if (!account) return undefined;
      return {
        accountId: id,
        claims: async () => ({
          sub: id,
          email: account.email,
          email_verified: account.emailVerified ?? true,
          groups: account.groups,
        }),
      };
    },
    // The console is the organisation's own client: its consent is not asked.
    async loadExistingGrant(ctx: KoaContextWithOIDC) {
      const { oidc } = ctx;
      const client = oidc.client;
      const accountId = oidc.session?.accountId;
      if (!client || !accountId) return undefined;
      const grantId = oidc.result?.consent?.grantId ?? oidc.session?.grantIdFor(client.clientId);
      if (grantId) return oidc.provider.Grant.find(grantId);
      const grant = new oidc.provider.Grant({ clientId: client.clientId, accountId });
      grant.addOIDCScope(SCOPES);
      grant.addOIDCClaims(["email", "email_verified", "groups"]);
      await grant.save();
      return grant;
    },
  };
  const provider = new Provider(url, configuration);
  server.on("request", provider.callback());
  return {
    url,
    caFile: authority.certPath,
    clientId,
    clientSecret: options.clientSecret,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
