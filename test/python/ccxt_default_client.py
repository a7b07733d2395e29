"""A Python ccxt binance client with its default options does what a spot bot does when it starts: load the
markets, read the balance, place a limit order and cancel it.

Reads {"apiKey", "secret", "urls", "symbol", "amount", "price"} as JSON on stdin, where urls is the ccxt
`urls.api` map pointing every Binance API family at the paper exchange. Prints what it saw as one JSON object
on stdout; a ccxt error ends it with its message on stderr and exit code 1.
"""

import json
import sys

import ccxt


def main() -> None:
    request = json.load(sys.stdin)
    exchange = ccxt.binance(
        {"apiKey": request["apiKey"], "secret": request["secret"], "urls": {"api": request["urls"]}}
    )
    symbol = request["symbol"]
    options = {
        "fetchCurrencies": exchange.options["fetchCurrencies"],
        "fetchMargins": exchange.options["fetchMargins"],
        "fetchMarketsTypes": exchange.options["fetchMarkets"]["types"],
    }
    markets = exchange.load_markets()
    balance = exchange.fetch_balance()
    placed = exchange.create_order(symbol, "limit", "buy", request["amount"], request["price"])
    open_ids = [order["id"] for order in exchange.fetch_open_orders(symbol)]
    canceled = exchange.cancel_order(placed["id"], symbol)
    quote = markets[symbol]["quote"]
    print(
        json.dumps(
            {
                "ccxtVersion": ccxt.__version__,
                "options": options,
                "markets": {
                    name: {"type": market["type"], "margin": market["margin"], "marginModes": market["marginModes"]}
                    for name, market in markets.items()
                },
                "quoteCurrency": {
                    key: exchange.currencies[quote][key] for key in ("deposit", "withdraw", "precision", "active")
                },
                "balance": {code: balance[code] for code in ("USDT", "BTC")},
                "placed": {key: placed[key] for key in ("id", "status", "price", "amount")},
                "openOrderIds": open_ids,
                "canceled": {key: canceled[key] for key in ("id", "status")},
            }
        )
    )


if __name__ == "__main__":
    try:
        main()
    except ccxt.BaseError as error:
        print(f"{type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(1)
