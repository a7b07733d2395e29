import * as openid from "openid-client";
import { Agent, fetch as undiciFetch } from "undici";

// The console as an OpenID Connect client (openid-client): the authorization code flow with PKCE (S256),
// state and nonce. The issuer is discovered on first use and remembered, so a console whose issuer is
// away still starts and serves its local users. With a CA file, the issuer's TLS is checked against
// those certificates alone (an undici Agent). Failures become a reason and a detail fit for a log line:
// an OAuth error code or openid-client's own code, never a code, token or secret.

export interface OidcClientSettings {
  issuerUrl: string;
  clientId: string;
  clientSecret: string;
  redirectUrl: string;
  scopes: readonly string[];
  /** PEM certificates to trust for the issuer instead of the system's. */
  ca?: string;
  /** How long one request to the issuer may take. */
  timeoutSeconds?: number;
}

/** What a started sign-in must remember until the issuer sends the browser back. */
export interface OidcFlow {
  state: string;
  nonce: string;
  codeVerifier: string;
}

export type OidcFlowFailure = "oidc_issuer_error" | "oidc_code_rejected" | "oidc_token_invalid";

export class OidcFlowError extends Error {
  readonly reason: OidcFlowFailure;
  /** An OAuth error code or openid-client's error code: safe to log and to show. */
  readonly detail: string;

  constructor(reason: OidcFlowFailure, detail: string) {
    super(`${reason}: ${detail}`);
    this.reason = reason;
    this.detail = detail;
  }
}

/** The sign-in steps the console's routes use; OidcClient is the real one. */
export interface OidcSignIn {
  begin(): Promise<{ authorizationUrl: URL; flow: OidcFlow }>;
  /** The ID token's claims, once the code is exchanged and the token checked against the flow. */
  finish(callbackQuery: URLSearchParams, flow: OidcFlow): Promise<Record<string, unknown>>;
}

/** OAuth error codes are short ASCII words; anything else an issuer sends is not repeated. */
const errorCode = (value: unknown) =>
  typeof value === "string" && /^[A-Za-z0-9_.-]{1,64}$/.test(value) ? value : "unrecognized_error";

/** Checks that the issuer's answer failed (openid-client's codes for them). */
const RESPONSE_CHECKS = new Set([
  "OAUTH_JWT_CLAIM_COMPARISON_FAILED",
  "OAUTH_JWT_TIMESTAMP_CHECK_FAILED",
  "OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED",
  "OAUTH_INVALID_RESPONSE",
  "OAUTH_PARSE_ERROR",
  "OAUTH_KEY_SELECTION_FAILED",
]);

/** Sorts an openid-client failure into a reason, keeping only codes (never the error's cause or response). */
export function classifyOidcFailure(error: unknown): OidcFlowError {
  if (error instanceof OidcFlowError) return error;
  if (error instanceof openid.AuthorizationResponseError) {
    return new OidcFlowError("oidc_issuer_error", errorCode(error.error));
  }
  if (error instanceof openid.ResponseBodyError) {
    // A used, expired or forged code, or a code_verifier that does not match its challenge.
    if (error.error === "invalid_grant") return new OidcFlowError("oidc_code_rejected", "invalid_grant");
    return new OidcFlowError("oidc_issuer_error", errorCode(error.error));
  }
  const code = (error as { code?: unknown } | undefined)?.code;
  if (error instanceof openid.ClientError && typeof code === "string" && RESPONSE_CHECKS.has(code)) {
    return new OidcFlowError("oidc_token_invalid", code);
  }
  return new OidcFlowError(
    "oidc_issuer_error",
    errorCode(code ?? networkCode(error) ?? (error as Error)?.name),
  );
}

/** The system's code of a failed request (ECONNREFUSED, a TLS verification code…), from the causes. */
function networkCode(error: unknown): string | undefined {
  let cause = (error as { cause?: unknown } | undefined)?.cause;
  for (let depth = 0; depth < 4 && cause; depth++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === "string") return code;
    cause = (cause as { cause?: unknown }).cause;
  }
  return undefined;
}

export class OidcClient implements OidcSignIn {
  private readonly settings: OidcClientSettings;
  private readonly agent: Agent | undefined;
  private configuration: Promise<openid.Configuration> | undefined;

  constructor(settings: OidcClientSettings) {
    this.settings = settings;
    this.agent = settings.ca ? new Agent({ connect: { ca: settings.ca } }) : undefined;
  }

  /** The issuer's configuration, discovered once; a failed discovery is tried again next time. */
  private discover(): Promise<openid.Configuration> {
    if (!this.configuration) {
      const agent = this.agent;
      const settings = this.settings;
      const issuer = new URL(settings.issuerUrl);
      this.configuration = openid
        // client_secret_basic: the default method of OpenID Connect client registration.
        .discovery(issuer, settings.clientId, undefined, openid.ClientSecretBasic(settings.clientSecret), {
          ...(agent
            ? {
                [openid.customFetch]: (url: string, options: openid.CustomFetchOptions) =>
                  undiciFetch(url, {
                    ...(options as object),
                    dispatcher: agent,
                  }) as unknown as Promise<Response>,
              }
            : {}),
          // Plain http is allowed by the flags only for an issuer on loopback (a local test issuer).
          execute: [
            ...(issuer.protocol === "http:" ? [openid.allowInsecureRequests] : []),
            // The ID token's signature is checked against the issuer's keys too, not only TLS.
            openid.enableNonRepudiationChecks,
          ],
          timeout: settings.timeoutSeconds ?? 10,
        })
        .catch((error: unknown) => {
          this.configuration = undefined;
          throw classifyOidcFailure(error);
        });
    }
    return this.configuration;
  }

  async begin(): Promise<{ authorizationUrl: URL; flow: OidcFlow }> {
    const configuration = await this.discover();
    const flow: OidcFlow = {
      state: openid.randomState(),
      nonce: openid.randomNonce(),
      codeVerifier: openid.randomPKCECodeVerifier(),
    };
    const authorizationUrl = openid.buildAuthorizationUrl(configuration, {
      redirect_uri: this.settings.redirectUrl,
      scope: this.settings.scopes.join(" "),
      response_type: "code",
      code_challenge: await openid.calculatePKCECodeChallenge(flow.codeVerifier),
      code_challenge_method: "S256",
      state: flow.state,
      nonce: flow.nonce,
    });
    return { authorizationUrl, flow };
  }

  async finish(callbackQuery: URLSearchParams, flow: OidcFlow): Promise<Record<string, unknown>> {
    const configuration = await this.discover();
    // The registered redirect URL with the issuer's answer: openid-client derives redirect_uri from it,
    // whatever host or proxy the request came through.
    const current = new URL(this.settings.redirectUrl);
    current.search = callbackQuery.toString();
    try {
      const tokens = await openid.authorizationCodeGrant(configuration, current, {
        pkceCodeVerifier: flow.codeVerifier,
        expectedState: flow.state,
        expectedNonce: flow.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims();
      if (!claims) throw new OidcFlowError("oidc_token_invalid", "no_id_token");
      return { ...claims };
    } catch (error) {
      throw classifyOidcFailure(error);
    }
  }

  async close(): Promise<void> {
    await this.agent?.close();
  }
}
