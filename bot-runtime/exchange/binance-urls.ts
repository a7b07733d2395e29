// Pointing ccxt's `binance` class at another Binance-compatible base URL (the exchange simulator, or any
// endpoint override of a TradingBot). ccxt addresses Binance through named API families, each with its own
// URL; every family is redirected, so no call can silently reach the real Binance.

/** Path of each ccxt binance API family on a Binance host (ccxt 4.5 `urls.api`). */
const apiFamilyPaths: Readonly<Record<string, string>> = {
  public: "/api/v3",
  private: "/api/v3",
  v1: "/api/v1",
  sapi: "/sapi/v1",
  sapiV2: "/sapi/v2",
  sapiV3: "/sapi/v3",
  sapiV4: "/sapi/v4",
  dapiPublic: "/dapi/v1",
  dapiPrivate: "/dapi/v1",
  dapiPrivateV2: "/dapi/v2",
  dapiData: "/futures/data",
  fapiPublic: "/fapi/v1",
  fapiPublicV2: "/fapi/v2",
  fapiPublicV3: "/fapi/v3",
  fapiPrivate: "/fapi/v1",
  fapiPrivateV2: "/fapi/v2",
  fapiPrivateV3: "/fapi/v3",
  fapiData: "/futures/data",
  eapiPublic: "/eapi/v1",
  eapiPrivate: "/eapi/v1",
  papi: "/papi/v1",
  papiV2: "/papi/v2",
};

function normalizedBaseUrl(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new Error(`exchange endpoint "${baseUrl}" is not a URL; expected e.g. http://127.0.0.1:8080`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(`exchange endpoint "${baseUrl}" must use http or https (got ${url.protocol})`);
  }
  if (url.search !== "" || url.hash !== "" || url.username !== "" || url.password !== "") {
    throw new Error(
      `exchange endpoint "${baseUrl}" must be a plain base URL without query, fragment or credentials`,
    );
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

/** The `urls.api` override for `new ccxt.binance({ urls: { api } })`: every API family under `baseUrl`. */
export function binanceUrlsForEndpoint(baseUrl: string): Record<string, string> {
  const base = normalizedBaseUrl(baseUrl);
  return Object.fromEntries(
    Object.entries(apiFamilyPaths).map(([family, path]) => [family, `${base}${path}`]),
  );
}

/**
 * ccxt `options` for spot trading against an overridden endpoint: load spot markets only (the futures and
 * options exchangeInfo endpoints do not exist there), skip the margin-pair and currency calls (sapi endpoints
 * of the Binance wallet), and sign with Binance's default recvWindow.
 */
export function binanceSpotOptionsForEndpoint() {
  return {
    defaultType: "spot",
    fetchMarkets: { types: ["spot"] },
    fetchCurrencies: false,
    fetchMargins: false,
    recvWindow: 5000,
  };
}

/** Constructor configuration for `new ccxt.binance(...)` against `baseUrl`, credentials excluded. */
export function binanceConfigForEndpoint(baseUrl: string) {
  return {
    urls: { api: binanceUrlsForEndpoint(baseUrl) },
    options: binanceSpotOptionsForEndpoint(),
  };
}
