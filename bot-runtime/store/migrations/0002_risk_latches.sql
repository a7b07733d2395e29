-- A latched risk halt, kept where the bot's own next start will find it: a runtime that finds one its
-- configuration does not acknowledge refuses to trade. The operator records the latch in the
-- TradingBot's status too; this copy survives what the status cannot see (the status write failed, the
-- pod was deleted by hand, evicted or drained while the operator was down). Never pruned by retention,
-- and the trading role may only add to it: an acknowledgement lives in the bot's spec, not here.
CREATE TABLE tradingbot.risk_latches (
  id             bigserial PRIMARY KEY,
  bot_namespace  text NOT NULL,
  bot_name       text NOT NULL,
  bot_uid        text NOT NULL,
  halt_id        text NOT NULL,
  limit_name     text NOT NULL,
  value          numeric NOT NULL,
  threshold      numeric NOT NULL,
  message        text NOT NULL,
  latched_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (bot_uid, halt_id)
);
CREATE INDEX risk_latches_latest ON tradingbot.risk_latches (bot_uid, id DESC);
