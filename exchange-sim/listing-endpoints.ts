// What an unmodified ccxt `binance` client reads in loadMarkets besides the spot exchangeInfo: the wallet's
// coins (capital/config/getall, when its option fetchCurrencies is on, the default), the cross and isolated
// margin pairs (fetchMargins, on by default) and the futures exchanges' symbols (fetchMarkets' default types
// include linear and inverse). The simulator is a spot exchange only, so it answers as Binance would for
// such an exchange: no margin pairs, no futures symbols, and coins that can be traded but neither deposited
// nor withdrawn.

import { formatUnits } from "./decimal.ts";
import type { Endpoint, EndpointContext } from "./endpoints.ts";
import type { Balance } from "./engine.ts";
import { binanceErrors } from "./errors.ts";

const noBalance: Balance = { free: 0n, locked: 0n };

/** Amounts as the wallet endpoints print them, without trailing zeros ("0.5", "10000", "0"). */
function walletAmount(units: bigint): string {
  return formatUnits(units).replace(/0+$/, "").replace(/\.$/, "");
}

const noDeposits = "Deposits are not available on this paper exchange.";
const noWithdrawals = "Withdrawals are not available on this paper exchange.";

/** One coin of capital/config/getall: tradable, with one network on which deposits and withdrawals are off. */
function coinInformation(coin: string, balance: Balance, trading: boolean) {
  return {
    coin,
    depositAllEnable: false,
    withdrawAllEnable: false,
    name: coin,
    free: walletAmount(balance.free),
    locked: walletAmount(balance.locked),
    freeze: "0",
    withdrawing: "0",
    ipoing: "0",
    ipoable: "0",
    storage: "0",
    isLegalMoney: false,
    trading,
    networkList: [
      {
        network: coin,
        coin,
        // The simulator's amounts have 8 decimals; ccxt reads this as the coin's precision.
        withdrawIntegerMultiple: walletAmount(1n),
        isDefault: true,
        depositEnable: false,
        withdrawEnable: false,
        depositDesc: noDeposits,
        withdrawDesc: noWithdrawals,
        specialTips: "",
        specialWithdrawTips: "",
        name: coin,
        resetAddressStatus: false,
        addressRegex: "",
        memoRegex: "",
        withdrawFee: "0",
        withdrawMin: "0",
        withdrawMax: "0",
        minConfirm: 0,
        unLockConfirm: 0,
        sameAddress: false,
        withdrawTag: false,
        estimatedArrivalTime: 0,
        busy: false,
      },
    ],
  };
}

/** Every asset of a listed pair, and any other asset the account holds, with the account's balances. */
function walletCoins(context: EndpointContext) {
  const { engine, key } = context;
  if (key === undefined) throw binanceErrors.rejectedApiKey();
  // Resting orders the market has crossed by now fill before the balances are read.
  engine.advanceTo(context.nowMs);
  const balances = engine.balances(key.accountId);
  const traded = new Set(engine.symbolSpecs().flatMap((spec) => [spec.baseAsset, spec.quoteAsset]));
  const coins = [...new Set([...traded, ...balances.keys()])].sort();
  return coins.map((coin) => coinInformation(coin, balances.get(coin) ?? noBalance, traded.has(coin)));
}

/**
 * Cross or isolated margin pairs: none, as no listed symbol allows margin trading (exchangeInfo's
 * isMarginTradingAllowed is false). Listing spot pairs here would make ccxt mark them as cross-margin markets.
 */
function marginPairs(context: EndpointContext): never[] {
  if (context.params.has("symbol")) throw binanceErrors.notValidMarginPair();
  return [];
}

/** exchangeInfo of a futures API without any symbol: the paper exchange lists no futures. */
function futuresExchangeInfo(context: EndpointContext, extra: Record<string, unknown>) {
  return {
    timezone: "UTC",
    serverTime: context.serverTime,
    ...extra,
    rateLimits: [
      {
        rateLimitType: "REQUEST_WEIGHT",
        interval: "MINUTE",
        intervalNum: 1,
        limit: context.limits.requestWeightPerMinute,
      },
    ],
    exchangeFilters: [],
    symbols: [],
  };
}

export const listingEndpoints: readonly Endpoint[] = [
  {
    method: "GET",
    path: "/sapi/v1/capital/config/getall",
    security: "SIGNED",
    weight: () => 10,
    handle: walletCoins,
  },
  {
    method: "GET",
    path: "/sapi/v1/margin/allPairs",
    security: "API_KEY",
    weight: () => 1,
    handle: marginPairs,
  },
  {
    method: "GET",
    path: "/sapi/v1/margin/isolated/allPairs",
    security: "SIGNED",
    weight: () => 10,
    handle: marginPairs,
  },
  {
    method: "GET",
    path: "/fapi/v1/exchangeInfo",
    security: "NONE",
    weight: () => 1,
    handle: (context) => futuresExchangeInfo(context, { futuresType: "U_MARGINED", assets: [] }),
  },
  {
    method: "GET",
    path: "/dapi/v1/exchangeInfo",
    security: "NONE",
    weight: () => 1,
    handle: (context) => futuresExchangeInfo(context, {}),
  },
];
