// Plain-text tables in kubectl's style (left-aligned columns, three spaces apart), and the rows the demo
// shows: orders at the exchange, fills and audit records.

export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join("   ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

/**
 * The rows of a `kubectl get -A` table that are in one of `namespaces`, with the header: on a shared cluster
 * the demo shows its own bots only.
 */
export function rowsInNamespaces(table: string, namespaces: readonly string[]): string {
  const [header, ...rows] = table.trimEnd().split("\n");
  if (header === undefined || !header.startsWith("NAMESPACE")) return table.trimEnd();
  return [header, ...rows.filter((row) => namespaces.includes(row.split(/\s+/)[0] ?? ""))].join("\n");
}

/** Indents every line of a block (for tables under a step's heading). */
export function indent(block: string, by = "  "): string {
  return block
    .split("\n")
    .map((line) => (line === "" ? line : `${by}${line}`))
    .join("\n");
}

/** A decimal string without trailing zeros ("64000.00000000" → "64000"). */
export function trimDecimal(value: string): string {
  if (!value.includes(".")) return value;
  return value.replace(/0+$/, "").replace(/\.$/, "");
}

export interface ExchangeOrder {
  clientOrderId: string;
  side: string;
  type: string;
  price: string;
  origQty: string;
  executedQty: string;
  status: string;
}

export function ordersTable(orders: readonly ExchangeOrder[]): string {
  const sorted = [...orders].sort((a, b) => Number(b.price) - Number(a.price));
  return formatTable(
    ["SIDE", "TYPE", "PRICE", "QTY", "FILLED", "STATUS", "CLIENT ORDER ID"],
    sorted.map((order) => [
      order.side,
      order.type,
      trimDecimal(order.price),
      trimDecimal(order.origQty),
      trimDecimal(order.executedQty),
      order.status,
      order.clientOrderId,
    ]),
  );
}

export interface Fill {
  tradeId: string;
  side: string;
  price: string;
  amount: string;
}

export function fillsTable(fills: readonly Fill[]): string {
  return formatTable(
    ["TRADE", "SIDE", "PRICE", "AMOUNT"],
    fills.map((fill) => [fill.tradeId, fill.side, trimDecimal(fill.price), trimDecimal(fill.amount)]),
  );
}

export interface AuditRecord {
  seq: number;
  at: Date;
  event: string;
  payload: Record<string, unknown>;
  rowHash: string;
}

/** The payload fields worth a glance for the events the tour shows; anything else stays out. */
const AUDIT_DETAIL_FIELDS = ["clientOrderId", "side", "price", "reason", "onStop", "cancelled", "source"];

export function auditDetail(payload: Record<string, unknown>): string {
  return AUDIT_DETAIL_FIELDS.filter((field) => payload[field] !== undefined && payload[field] !== null)
    .map((field) => {
      const value = payload[field];
      const text = typeof value === "string" ? value : JSON.stringify(value);
      return `${field}=${text.length > 48 ? `${text.slice(0, 45)}...` : text}`;
    })
    .join(" ");
}

export function auditTable(records: readonly AuditRecord[]): string {
  return formatTable(
    ["SEQ", "AT", "EVENT", "HASH", "DETAIL"],
    records.map((record) => [
      String(record.seq),
      record.at.toISOString().slice(11, 23),
      record.event,
      `${record.rowHash.slice(0, 12)}…`,
      auditDetail(record.payload),
    ]),
  );
}

export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}
