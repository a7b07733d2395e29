-- The bot runtime's record. Several bots share one database: every row carries the bot's identity
-- (namespace, name and uid of its TradingBot); the uid is what rows are keyed by, since a bot deleted and
-- re-created under the same name is a different bot.

CREATE TABLE tradingbot.orders (
  id                bigserial PRIMARY KEY,
  bot_namespace     text NOT NULL,
  bot_name          text NOT NULL,
  bot_uid           text NOT NULL,
  client_order_id   text NOT NULL,
  slot              text NOT NULL,
  slot_seq          integer NOT NULL,
  symbol            text NOT NULL,
  side              text NOT NULL CHECK (side IN ('buy', 'sell')),
  type              text NOT NULL CHECK (type IN ('limit', 'market')),
  amount            numeric NOT NULL CHECK (amount > 0),
  price             numeric CHECK (price > 0),
  -- pending: recorded, request not yet answered; unknown: the answer was lost (timeout, 5xx), resolved by
  -- looking the order up by client_order_id; not_placed: the exchange never had it.
  status            text NOT NULL CHECK (status IN
                      ('pending', 'unknown', 'open', 'filled', 'canceled', 'rejected', 'expired', 'not_placed')),
  exchange_order_id text,
  filled            numeric NOT NULL DEFAULT 0,
  reason            text NOT NULL,
  detail            text,
  origin            text NOT NULL DEFAULT 'strategy' CHECK (origin IN ('strategy', 'adopted', 'flatten')),
  unknown_since     timestamptz,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  UNIQUE (bot_uid, client_order_id),
  UNIQUE (bot_uid, slot, slot_seq)
);
CREATE INDEX orders_live ON tradingbot.orders (bot_uid) WHERE status IN ('pending', 'unknown', 'open');
CREATE INDEX orders_by_exchange_id ON tradingbot.orders (bot_uid, exchange_order_id);
CREATE INDEX orders_created ON tradingbot.orders (bot_uid, created_at);

CREATE TABLE tradingbot.fills (
  id                bigserial PRIMARY KEY,
  bot_namespace     text NOT NULL,
  bot_name          text NOT NULL,
  bot_uid           text NOT NULL,
  trade_id          text NOT NULL,
  client_order_id   text NOT NULL,
  exchange_order_id text NOT NULL,
  side              text NOT NULL CHECK (side IN ('buy', 'sell')),
  price             numeric NOT NULL,
  amount            numeric NOT NULL,
  fee               numeric NOT NULL,
  fee_currency      text NOT NULL,
  traded_at         timestamptz NOT NULL,
  recorded_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (bot_uid, trade_id)
);
CREATE INDEX fills_recorded ON tradingbot.fills (bot_uid, recorded_at);

-- What a restart resumes from: strategy memory, position, the trade cursor and the loss baselines.
CREATE TABLE tradingbot.bot_state (
  bot_uid          text PRIMARY KEY,
  bot_namespace    text NOT NULL,
  bot_name         text NOT NULL,
  symbol           text NOT NULL,
  strategy_type    text NOT NULL,
  strategy_memory  jsonb NOT NULL,
  position_base    numeric NOT NULL DEFAULT 0,
  position_cost    numeric NOT NULL DEFAULT 0,
  realized_pnl     numeric NOT NULL DEFAULT 0,
  trade_cursor     text,
  loss_day         text,
  day_start_pnl    numeric,
  peak_equity      numeric,
  updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tradingbot.snapshots (
  id             bigserial PRIMARY KEY,
  bot_namespace  text NOT NULL,
  bot_name       text NOT NULL,
  bot_uid        text NOT NULL,
  taken_at       timestamptz NOT NULL DEFAULT now(),
  last_price     numeric NOT NULL,
  position_base  numeric NOT NULL,
  position_cost  numeric NOT NULL,
  realized_pnl   numeric NOT NULL,
  base_balance   numeric,
  quote_balance  numeric,
  equity         numeric,
  open_orders    integer NOT NULL
);
CREATE INDEX snapshots_taken ON tradingbot.snapshots (bot_uid, taken_at);

CREATE TABLE tradingbot.risk_events (
  id               bigserial PRIMARY KEY,
  bot_namespace    text NOT NULL,
  bot_name         text NOT NULL,
  bot_uid          text NOT NULL,
  occurred_at      timestamptz NOT NULL DEFAULT now(),
  limit_name       text NOT NULL,
  halting          boolean NOT NULL,
  value            numeric NOT NULL,
  threshold        numeric NOT NULL,
  slot             text,
  message          text NOT NULL
);
CREATE INDEX risk_events_occurred ON tradingbot.risk_events (bot_uid, occurred_at);

-- Append-only and hash-chained per bot; see bot-runtime/store/audit-chain.ts for the encoding.
CREATE TABLE tradingbot.audit_log (
  id             bigserial PRIMARY KEY,
  bot_namespace  text NOT NULL,
  bot_name       text NOT NULL,
  bot_uid        text NOT NULL,
  seq            bigint NOT NULL CHECK (seq > 0),
  at             timestamptz NOT NULL,
  event          text NOT NULL,
  payload        jsonb NOT NULL,
  prev_hash      text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
  row_hash       text NOT NULL CHECK (row_hash ~ '^[0-9a-f]{64}$'),
  UNIQUE (bot_uid, seq)
);
CREATE INDEX audit_log_by_name ON tradingbot.audit_log (bot_namespace, bot_name);

-- Where a chain pruned by audit retention now starts (the last pruned row's seq and hash).
CREATE TABLE tradingbot.audit_prune (
  bot_uid       text NOT NULL,
  through_seq   bigint NOT NULL,
  through_hash  text NOT NULL,
  pruned_rows   bigint NOT NULL,
  pruned_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (bot_uid, through_seq)
);

-- Rejects UPDATE, DELETE and TRUNCATE on the audit log for every role, its owner included. The only
-- deletion allowed is audit retention, through prune_audit_log below, which marks its transaction.
CREATE FUNCTION tradingbot.audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('tradingbot.audit_prune', true) = 'on' THEN
    RETURN OLD;
  END IF;
  IF TG_LEVEL = 'STATEMENT' THEN
    RAISE EXCEPTION 'tradingbot.audit_log is append-only: % is not allowed', TG_OP
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RAISE EXCEPTION 'tradingbot.audit_log is append-only: % of row % is not allowed', TG_OP, OLD.id
    USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_log_append_only_rows
  BEFORE UPDATE OR DELETE ON tradingbot.audit_log
  FOR EACH ROW EXECUTE FUNCTION tradingbot.audit_log_append_only();
CREATE TRIGGER audit_log_append_only_truncate
  BEFORE TRUNCATE ON tradingbot.audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION tradingbot.audit_log_append_only();

-- Audit retention: removes a bot's rows older than keep_days from the start of its chain and records the
-- new anchor, so `audit verify` still checks the rest. Runs with the owner's rights (the trading role
-- has no DELETE on the audit log); refuses to keep less than one day.
CREATE FUNCTION tradingbot.prune_audit_log(p_bot_uid text, p_keep_days integer) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = tradingbot, pg_temp AS $$
DECLARE
  last_pruned record;
  removed bigint;
BEGIN
  IF p_keep_days IS NULL OR p_keep_days < 1 THEN
    RAISE EXCEPTION 'audit retention must keep at least 1 day, got %', p_keep_days;
  END IF;
  SELECT seq, row_hash INTO last_pruned FROM tradingbot.audit_log
    WHERE bot_uid = p_bot_uid AND at < now() - make_interval(days => p_keep_days)
    ORDER BY seq DESC LIMIT 1;
  IF NOT FOUND THEN
    RETURN 0;
  END IF;
  PERFORM set_config('tradingbot.audit_prune', 'on', true);
  DELETE FROM tradingbot.audit_log WHERE bot_uid = p_bot_uid AND seq <= last_pruned.seq;
  GET DIAGNOSTICS removed = ROW_COUNT;
  PERFORM set_config('tradingbot.audit_prune', 'off', true);
  INSERT INTO tradingbot.audit_prune (bot_uid, through_seq, through_hash, pruned_rows)
    VALUES (p_bot_uid, last_pruned.seq, last_pruned.row_hash, removed);
  RETURN removed;
END
$$;
REVOKE ALL ON FUNCTION tradingbot.prune_audit_log(text, integer) FROM PUBLIC;
