// The simulator without any network: the request pipeline Binance applies to every API call (IP weight and
// bans, injected faults, API key, signature and timing checks, order rate limits, the endpoint itself, the
// response headers) and the admin operations. The HTTP servers are thin edges around this.

import { type AccountEntry, type AccountEntryInput, parseAccountEntry } from "./accounts-file.ts";
import { myTrade, queriedOrder } from "./binance-format.ts";
import type { ReplayCandle } from "./candles.ts";
import { type Clock, systemClock } from "./clock.ts";
import {
  type ApiKeyRecord,
  apiKeyId,
  ed25519PublicKey,
  KeyRegistry,
  signatureMatches,
} from "./credentials.ts";
import { formatUnits, multiplyUnits, roundToStep, unitsFromNumber, unitsOf } from "./decimal.ts";
import { type Endpoint, findEndpoint } from "./endpoints.ts";
import { DEFAULT_COMMISSION, ExchangeEngine } from "./engine.ts";
import { BinanceApiError, binanceErrors } from "./errors.ts";
import { FaultInjector, type FaultPatch, type FaultView } from "./faults.ts";
import { currentPrice, priceUnits } from "./market.ts";
import { seedNumber, uniformAt } from "./random.ts";
import { defaultRateLimits, type RateLimitConfig, RateLimiter } from "./rate-limits.ts";
import { RequestLog, type RequestLogEntry } from "./request-log.ts";
import { RequestParams } from "./request-params.ts";
import { defaultSymbolConfigs, normalizeSymbol, type SymbolConfig, symbolSpecFromConfig } from "./symbols.ts";

export interface ExchangeSimOptions {
  accounts: readonly AccountEntryInput[];
  /** Seed of the synthetic price paths, the book and the fault decisions (default "exchange-sim"). */
  seed?: string | number;
  /** Recorded candles replayed for one symbol (default BTCUSDT) instead of its synthetic path. */
  replay?: { symbol?: string; candles: readonly ReplayCandle[] };
  /** Market time per server time (default 1). */
  speed?: number;
  symbols?: readonly SymbolConfig[];
  faults?: FaultPatch;
  clock?: Clock;
  rateLimits?: Partial<RateLimitConfig>;
  /** Server time per matching step of resting orders (default 1000 ms). */
  matchStepMs?: number;
  /** Share of the market volume of a step that resting orders may fill (default 0.2). */
  liquidityShare?: number;
  /** Minutes of generated history before the start (default 90 days). */
  historyMinutes?: number;
  requestLogCapacity?: number;
}

export interface ApiRequest {
  method: string;
  path: string;
  rawQuery: string;
  rawBody: string;
  /** X-MBX-APIKEY header. */
  apiKey: string | undefined;
  ip: string;
}

export type ApiOutcome =
  | { kind: "response"; status: number; headers: Record<string, string>; body: unknown }
  /** Leave the request unanswered. */
  | { kind: "hang" }
  /** The request was executed; close the connection without answering. */
  | { kind: "drop" };

export interface KeyView {
  keyId: string;
  kind: ApiKeyRecord["kind"];
  canTrade: boolean;
  canWithdraw: boolean;
  revoked: boolean;
  createdAt: number;
}

export interface AccountView {
  accountId: string;
  keys: KeyView[];
  balances: Record<string, { free: string; locked: string }>;
  commission: { maker: string; taker: string };
}

export type OrderView = ReturnType<typeof queriedOrder> & { accountId: string; keyId: string };
export type TradeView = ReturnType<typeof myTrade> & { accountId: string };

export interface AccountSelector {
  apiKey?: string;
  accountId?: string;
  symbol?: string;
}

export type PriceChange = { symbol: string; price: string } | { symbol: string; movePct: number };

function setOrderCounts(
  headers: Record<string, string>,
  counts: { count10s: number; count1d: number },
): void {
  headers["X-MBX-ORDER-COUNT-10S"] = String(counts.count10s);
  headers["X-MBX-ORDER-COUNT-1D"] = String(counts.count1d);
}

export class ExchangeSimulator {
  readonly clock: Clock;
  readonly seed: number;
  readonly startMs: number;
  readonly limits: RateLimitConfig;
  private readonly options: ExchangeSimOptions;
  private engine: ExchangeEngine;
  private keys = new KeyRegistry();
  private limiter: RateLimiter;
  private readonly faultInjector: FaultInjector;
  private readonly log: RequestLog;
  private cancelIds = 0;
  private accountCounter = 0;

  constructor(options: ExchangeSimOptions) {
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.seed = seedNumber(options.seed ?? "exchange-sim");
    this.startMs = this.clock();
    this.limits = { ...defaultRateLimits, ...options.rateLimits };
    const speed = options.speed ?? 1;
    if (!(speed > 0 && speed <= 100_000)) throw new Error(`speed must be > 0 and <= 100000 (got ${speed})`);
    this.limiter = new RateLimiter(this.limits);
    this.faultInjector = new FaultInjector(this.seed);
    this.log = new RequestLog(options.requestLogCapacity ?? 50_000);
    this.engine = this.createEngine();
    this.loadInitialAccounts();
    if (options.faults !== undefined) this.faultInjector.apply(options.faults, this.startMs);
  }

  private createEngine(): ExchangeEngine {
    const { options } = this;
    const symbols = (options.symbols ?? defaultSymbolConfigs).map(symbolSpecFromConfig);
    const replay =
      options.replay === undefined
        ? undefined
        : { symbol: normalizeSymbol(options.replay.symbol ?? "BTCUSDT"), candles: options.replay.candles };
    return new ExchangeEngine({
      symbols,
      seed: this.seed,
      speed: options.speed ?? 1,
      startMs: this.startMs,
      ...(replay === undefined ? {} : { replay }),
      ...(options.matchStepMs === undefined ? {} : { matchStepMs: options.matchStepMs }),
      ...(options.liquidityShare === undefined ? {} : { liquidityShare: options.liquidityShare }),
      ...(options.historyMinutes === undefined ? {} : { historyMinutes: options.historyMinutes }),
    });
  }

  private loadInitialAccounts(): void {
    this.accountCounter = 0;
    this.options.accounts.forEach((entry, index) => {
      this.addAccountEntry(parseAccountEntry(entry, `accounts[${index}]`), `accounts[${index}]`);
    });
  }

  private addAccountEntry(entry: AccountEntry, where: string): { accountId: string; keyId: string } {
    const now = this.clock();
    const keyId = apiKeyId(entry.apiKey);
    if (this.keys.find(entry.apiKey) !== undefined)
      throw new Error(`${where}.apiKey: key ${keyId} already exists`);
    let accountId = entry.accountId;
    const exists = accountId !== undefined && this.engine.accountIds().includes(accountId);
    if (exists) {
      if (entry.balances !== undefined || entry.commission !== undefined) {
        throw new Error(
          `${where}: account ${accountId} already exists; to add a key to it give only apiKey, secret or publicKeyPem and permissions (no balances, no commission)`,
        );
      }
    } else {
      if (accountId === undefined) {
        do accountId = `account-${++this.accountCounter}`;
        while (this.engine.accountIds().includes(accountId));
      }
      const balances: Record<string, bigint> = {};
      for (const [asset, amount] of Object.entries(entry.balances ?? {})) balances[asset] = unitsOf(amount);
      this.engine.addAccount(
        {
          accountId,
          balances,
          makerCommission:
            entry.commission === undefined ? DEFAULT_COMMISSION : unitsOf(entry.commission.maker),
          takerCommission:
            entry.commission === undefined ? DEFAULT_COMMISSION : unitsOf(entry.commission.taker),
        },
        now,
      );
    }
    this.keys.add({
      apiKey: entry.apiKey,
      keyId,
      accountId: accountId as string,
      kind: entry.secret !== undefined ? "HMAC_SHA256" : "ED25519",
      secret: entry.secret,
      publicKey: entry.publicKeyPem === undefined ? undefined : ed25519PublicKey(entry.publicKeyPem),
      canTrade: entry.canTrade,
      canWithdraw: entry.canWithdraw,
      revoked: false,
      createdAt: now,
    });
    return { accountId: accountId as string, keyId };
  }

  /** Server time as clients see it: the clock plus any injected skew. */
  serverTime(): number {
    return this.clock() + this.faultInjector.clockSkewMs;
  }

  latencyFor(path: string): number {
    return this.faultInjector.latencyFor(path);
  }

  // ---- the API request pipeline ----

  handleApiRequest(request: ApiRequest): ApiOutcome {
    const nowMs = this.clock();
    const keyId = request.apiKey === undefined ? null : apiKeyId(request.apiKey);
    const entry: RequestLogEntry = {
      time: nowMs,
      method: request.method,
      path: request.path,
      keyId,
      ip: request.ip,
      status: 200,
      code: null,
      weight: 0,
      fault: null,
    };
    const headers: Record<string, string> = {};
    const answer = (status: number, body: unknown): ApiOutcome => {
      entry.status = status;
      headers["X-MBX-USED-WEIGHT-1M"] = String(this.limiter.usedWeight(request.ip, nowMs));
      this.log.add(entry);
      return { kind: "response", status, headers, body };
    };
    const fail = (error: BinanceApiError): ApiOutcome => {
      entry.code = error.code;
      if (error.retryAfterSeconds !== undefined) headers["Retry-After"] = String(error.retryAfterSeconds);
      return answer(error.httpStatus, error.toJSON());
    };

    const ban = this.limiter.banOf(request.ip, nowMs);
    if (ban?.kind === "banned") return fail(binanceErrors.banned(ban.untilMs, ban.retryAfterSeconds));

    const fault = this.faultInjector.requestFault(request.path, nowMs);
    if (fault !== undefined) entry.fault = fault;
    if (fault === "storm") {
      const verdict = this.limiter.recordRejection(request.ip, nowMs);
      return fail(
        verdict.kind === "banned"
          ? binanceErrors.banned(verdict.untilMs, verdict.retryAfterSeconds)
          : binanceErrors.tooMuchWeight(this.limits.requestWeightPerMinute, verdict.retryAfterSeconds),
      );
    }
    if (fault === "error5xx") return fail(binanceErrors.internal());
    if (fault === "hang") {
      entry.status = 0;
      this.log.add(entry);
      return { kind: "hang" };
    }

    try {
      const endpoint = findEndpoint(request.method, request.path);
      if (endpoint === undefined) {
        entry.weight = 1;
        this.chargeWeight(request.ip, 1, nowMs);
        throw binanceErrors.unsupportedOperation();
      }
      let params: RequestParams;
      try {
        params = new RequestParams(request.rawQuery, request.rawBody);
        entry.weight = endpoint.weight(params);
      } catch (error) {
        entry.weight = 1;
        this.chargeWeight(request.ip, 1, nowMs);
        throw error;
      }
      this.chargeWeight(request.ip, entry.weight, nowMs);
      const key = endpoint.security === "NONE" ? undefined : this.authenticate(endpoint, request, params);
      const countsOrders = endpoint.placesOrder === true && key !== undefined;
      if (countsOrders) {
        const verdict = this.limiter.orderAllowance(key.accountId, nowMs);
        setOrderCounts(headers, verdict);
        if (verdict.kind === "limited") throw binanceErrors.tooManyOrders(verdict.limit, verdict.interval);
      }
      const body = endpoint.handle({
        params,
        nowMs,
        serverTime: this.serverTime(),
        key,
        engine: this.engine,
        limits: this.limits,
        limiter: this.limiter,
        nextCancelId: () => this.nextCancelId(),
      });
      // Only orders the exchange accepted count against the order limits.
      if (countsOrders) setOrderCounts(headers, this.limiter.recordOrder(key.accountId, nowMs));
      if (endpoint.placesOrder === true && this.faultInjector.dropsAcceptedOrderResponse()) {
        entry.fault = "dropped";
        this.log.add(entry);
        return { kind: "drop" };
      }
      return answer(200, body);
    } catch (error) {
      if (error instanceof BinanceApiError) return fail(error);
      throw error;
    }
  }

  private chargeWeight(ip: string, weight: number, nowMs: number): void {
    const verdict = this.limiter.chargeWeight(ip, weight, nowMs);
    if (verdict.kind === "banned") throw binanceErrors.banned(verdict.untilMs, verdict.retryAfterSeconds);
    if (verdict.kind === "limited") {
      throw binanceErrors.tooMuchWeight(this.limits.requestWeightPerMinute, verdict.retryAfterSeconds);
    }
  }

  /** API key checks, and for SIGNED endpoints signature and timing checks, in Binance's order. */
  private authenticate(endpoint: Endpoint, request: ApiRequest, params: RequestParams): ApiKeyRecord {
    if (request.apiKey === undefined || request.apiKey === "") throw binanceErrors.apiKeyFormatInvalid();
    const key = this.keys.find(request.apiKey);
    if (key === undefined || key.revoked) throw binanceErrors.rejectedApiKey();
    // MARKET_DATA endpoints ignore timestamp and signature (ccxt sends them to every sapi endpoint).
    if (endpoint.security === "API_KEY") return key;
    const timestamp = params.integer("timestamp");
    const recvWindow = params.optionalInteger("recvWindow") ?? 5000;
    if (recvWindow > 60_000 || recvWindow < 0) throw binanceErrors.recvWindowTooLarge();
    const signature = params.string("signature");
    if (!signatureMatches(key, params.totalParams, signature)) throw binanceErrors.invalidSignature();
    const serverTime = this.serverTime();
    if (timestamp >= serverTime + 1000) throw binanceErrors.timestampAhead();
    if (serverTime - timestamp > recvWindow) throw binanceErrors.timestampOutsideRecvWindow();
    if (endpoint.trade === true && !key.canTrade) throw binanceErrors.rejectedApiKey();
    return key;
  }

  private nextCancelId(): string {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    const n = this.cancelIds++;
    let id = "";
    for (let i = 0; i < 22; i++)
      id += alphabet[Math.floor(uniformAt(this.seed, 0xcafe, n, i) * alphabet.length)];
    return id;
  }

  // ---- admin operations ----

  private accountIdsFor(selector: AccountSelector): string[] {
    if (selector.apiKey !== undefined) {
      const key = this.keys.find(selector.apiKey);
      if (key === undefined) throw new Error(`no API key ${apiKeyId(selector.apiKey)} is registered`);
      return [key.accountId];
    }
    if (selector.accountId !== undefined) {
      if (!this.engine.accountIds().includes(selector.accountId)) {
        throw new Error(`no account ${selector.accountId}`);
      }
      return [selector.accountId];
    }
    return this.engine.accountIds();
  }

  private symbolFilter(selector: AccountSelector): string | undefined {
    if (selector.symbol === undefined) return undefined;
    const symbol = normalizeSymbol(selector.symbol);
    if (!this.engine.hasSymbol(symbol)) throw new Error(`unknown symbol ${selector.symbol}`);
    return symbol;
  }

  /** Every order (all states) of the selected accounts, with the key that placed it. */
  orders(selector: AccountSelector = {}): OrderView[] {
    const symbol = this.symbolFilter(selector);
    const now = this.clock();
    return this.accountIdsFor(selector).flatMap((accountId) =>
      this.engine
        .orders(accountId, symbol, now)
        .map((order) => ({ ...queriedOrder(order), accountId, keyId: order.keyId })),
    );
  }

  trades(selector: AccountSelector = {}): TradeView[] {
    const symbol = this.symbolFilter(selector);
    const now = this.clock();
    return this.accountIdsFor(selector).flatMap((accountId) =>
      this.engine.trades(accountId, symbol, now).map((trade) => ({ ...myTrade(trade), accountId })),
    );
  }

  /** Accounts with balances and key ids (never keys or secrets). */
  accounts(selector: AccountSelector = {}): AccountView[] {
    this.engine.advanceTo(this.clock());
    const keys = this.keys.all();
    return this.accountIdsFor(selector).map((accountId) => {
      const setup = this.engine.accountSetup(accountId);
      const balances: AccountView["balances"] = {};
      for (const [asset, balance] of [...this.engine.balances(accountId)].sort(([a], [b]) =>
        a < b ? -1 : 1,
      )) {
        balances[asset] = { free: formatUnits(balance.free), locked: formatUnits(balance.locked) };
      }
      return {
        accountId,
        keys: keys
          .filter((key) => key.accountId === accountId)
          .map(({ keyId, kind, canTrade, canWithdraw, revoked, createdAt }) => ({
            keyId,
            kind,
            canTrade,
            canWithdraw,
            revoked,
            createdAt,
          })),
        balances,
        commission: { maker: formatUnits(setup.makerCommission), taker: formatUnits(setup.takerCommission) },
      };
    });
  }

  /** Adds an account, or a key to an existing account when `accountId` names one. */
  addAccount(input: AccountEntryInput): { accountId: string; keyId: string } {
    return this.addAccountEntry(parseAccountEntry(input, "account"), "account");
  }

  /** Revokes a key: Binance answers -2015 to it from now on. False when the key is unknown. */
  revokeKey(apiKey: string): boolean {
    return this.keys.revoke(apiKey) !== undefined;
  }

  setFaults(patch: FaultPatch): FaultView {
    return this.faultInjector.apply(patch, this.clock());
  }

  faults(): FaultView {
    return this.faultInjector.view(this.clock());
  }

  /** Forces a symbol's price (absolute, or moved by a percentage) from now on. */
  setPrice(change: PriceChange): { symbol: string; price: string } {
    const symbol = normalizeSymbol(change.symbol);
    if (!this.engine.hasSymbol(symbol)) throw new Error(`unknown symbol ${change.symbol}`);
    const now = this.clock();
    const market = this.engine.market(symbol);
    let target: bigint;
    if ("price" in change) {
      target = unitsOf(change.price);
    } else {
      if (!Number.isFinite(change.movePct) || change.movePct <= -100) {
        throw new Error(`movePct must be a number greater than -100 (got ${change.movePct})`);
      }
      const current = priceUnits(market, currentPrice(market, now));
      target = multiplyUnits(current, unitsFromNumber(1 + change.movePct / 100), "half-up");
    }
    target = roundToStep(target, market.spec.tickSize);
    if (target <= 0n) throw new Error("the forced price must be > 0");
    this.engine.forcePrice(symbol, target, now);
    return { symbol, price: formatUnits(target) };
  }

  price(symbol: string): string {
    const market = this.engine.market(normalizeSymbol(symbol));
    return formatUnits(priceUnits(market, currentPrice(market, this.clock())));
  }

  requests(filter: { apiKey?: string; sinceMs?: number; path?: string } = {}): RequestLogEntry[] {
    return this.log.query({
      ...(filter.apiKey === undefined ? {} : { keyIds: [apiKeyId(filter.apiKey)] }),
      ...(filter.sinceMs === undefined ? {} : { sinceMs: filter.sinceMs }),
      ...(filter.path === undefined ? {} : { path: filter.path }),
    });
  }

  /** Back to the starting state: initial accounts and balances, no orders, no forced prices, no faults. */
  reset(): void {
    this.engine = this.createEngine();
    this.keys = new KeyRegistry();
    this.loadInitialAccounts();
    this.limiter = new RateLimiter(this.limits);
    this.faultInjector.reset();
    if (this.options.faults !== undefined) this.faultInjector.apply(this.options.faults, this.clock());
    this.log.clear();
    this.cancelIds = 0;
  }
}
