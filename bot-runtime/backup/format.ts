import { createHash, type Hash } from "node:crypto";
import { z } from "zod";

// The plaintext of a backup (before age encryption), version 1: UTF-8 JSON lines, each ending in "\n".
//
//   {"format":"tradingbot-backup","formatVersion":1,"createdAt":...,"schemaVersion":...,"scope":...,
//    "tables":[{"name":"audit_log","columns":["id","bot_namespace",...]},...],...}
//   {"begin":"audit_log"}
//   ["1","trading","grid-btc",...]            one line per row: each column's PostgreSQL text form, or null
//   {"end":"audit_log","rows":1234,"sha256":"<hex over this table's row lines>"}
//   ... one begin/rows/end block per table named in the header, in its order ...
//   {"trailer":{"tables":8,"rows":5678,"sha256":"<hex over every byte before this line>"}}
//
// Row values are text because text is what PostgreSQL reads back exactly (numeric, timestamptz in UTC,
// jsonb); the restore casts each to its column's type. Control lines are objects, row lines arrays, so one
// character tells them apart. The reader below checks every count and checksum as it goes, and a file
// that ends before its trailer is refused as truncated.

export const BACKUP_FORMAT = "tradingbot-backup";
export const BACKUP_FORMAT_VERSION = 1;
/** Longer lines are refused rather than buffered: no row of the schema comes near it. */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;

const botName = z.string().regex(/^[a-z0-9][-a-z0-9.]*$/);

export const BackupScope = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("all") }),
  z.object({
    kind: z.literal("bot"),
    namespace: botName,
    name: botName,
    /** Every uid the bot's rows carry (a bot deleted and re-created under its name has a new one). */
    uids: z.array(z.string().min(1)).min(1),
  }),
]);
export type BackupScope = z.infer<typeof BackupScope>;

const MigrationRecord = z.object({
  version: z.number().int().positive(),
  name: z.string(),
  checksum: z.string().regex(/^[0-9a-f]{64}$/),
});
export type MigrationRecord = z.infer<typeof MigrationRecord>;

const tableName = z.string().regex(/^[a-z_][a-z0-9_]*$/);
const BackupTable = z.object({ name: tableName, columns: z.array(z.string().min(1)).min(1) });
export type BackupTable = z.infer<typeof BackupTable>;

export const BackupHeader = z.object({
  format: z.literal(BACKUP_FORMAT),
  formatVersion: z.literal(BACKUP_FORMAT_VERSION),
  /** When the snapshot was taken (the database's clock), ISO 8601 UTC. */
  createdAt: z.iso.datetime(),
  schema: z.string(),
  /** The highest applied migration, and every applied migration with its checksum. */
  schemaVersion: z.number().int().nonnegative(),
  migrations: z.array(MigrationRecord),
  scope: BackupScope,
  /** The tables that follow, in order, with the columns of their rows. */
  tables: z.array(BackupTable),
  /** `SHOW server_version` of the source, for the reader's information. */
  server: z.string(),
});
export type BackupHeader = z.infer<typeof BackupHeader>;

const Begin = z.object({ begin: tableName });
const End = z.object({
  end: tableName,
  rows: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
const Trailer = z.object({
  trailer: z.object({
    tables: z.number().int().nonnegative(),
    rows: z.number().int().nonnegative(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
  }),
});

export type RowValues = readonly (string | null)[];

/** The backup cannot be trusted or read: damaged, truncated, altered, or of a format newer than this. */
export class BackupRefused extends Error {
  override name = "BackupRefused";
}

const NEWLINE = 0x0a;

function line(value: unknown): Buffer {
  return Buffer.from(`${JSON.stringify(value)}\n`, "utf8");
}

/** Writes the lines of a backup in order, keeping the counts and checksums the reader checks. */
export class BackupEncoder {
  readonly #whole: Hash = createHash("sha256");
  #table: { name: string; columns: number; rows: number; hash: Hash } | undefined;
  #tables = 0;
  #rows = 0;
  readonly #rowsByTable = new Map<string, number>();

  #emit(bytes: Buffer): Buffer {
    this.#whole.update(bytes);
    return bytes;
  }

  header(header: BackupHeader): Buffer {
    return this.#emit(line(BackupHeader.parse(header)));
  }

  begin(table: BackupTable): Buffer {
    if (this.#table !== undefined) throw new Error(`table ${this.#table.name} is not ended`);
    this.#table = { name: table.name, columns: table.columns.length, rows: 0, hash: createHash("sha256") };
    return this.#emit(line({ begin: table.name }));
  }

  row(values: RowValues): Buffer {
    const table = this.#table;
    if (table === undefined) throw new Error("a row outside a table");
    if (values.length !== table.columns)
      throw new Error(`${table.name}: a row of ${values.length} values for ${table.columns} columns`);
    const bytes = line(values);
    table.hash.update(bytes);
    table.rows += 1;
    return this.#emit(bytes);
  }

  end(): Buffer {
    const table = this.#table;
    if (table === undefined) throw new Error("no table to end");
    this.#table = undefined;
    this.#tables += 1;
    this.#rows += table.rows;
    this.#rowsByTable.set(table.name, table.rows);
    return this.#emit(line({ end: table.name, rows: table.rows, sha256: table.hash.digest("hex") }));
  }

  /** The last line; returns it with the checksum over everything before it. */
  trailer(): { bytes: Buffer; sha256: string; rows: Record<string, number> } {
    if (this.#table !== undefined) throw new Error(`table ${this.#table.name} is not ended`);
    const sha256 = this.#whole.digest("hex");
    return {
      bytes: line({ trailer: { tables: this.#tables, rows: this.#rows, sha256 } }),
      sha256,
      rows: Object.fromEntries(this.#rowsByTable),
    };
  }
}

export type BackupEvent =
  | { kind: "header"; header: BackupHeader }
  | { kind: "begin"; table: string }
  /** `json` is the row's line as written: a JSON array, checked to have one value per column. */
  | { kind: "row"; table: string; json: string }
  | { kind: "end"; table: string; rows: number }
  | { kind: "trailer"; tables: number; rows: number; sha256: string };

type ReaderState =
  | { at: "header" }
  | { at: "between"; next: number }
  | { at: "table"; index: number; table: string; columns: number; rows: number; hash: Hash }
  | { at: "done" };

/**
 * Reads a backup's lines (without their "\n") in order and checks them: the header's format version, the
 * tables in the header's order, one value per column in every row, each table's row count and checksum,
 * and the trailer's totals and checksum over everything before it. Throws BackupRefused naming the table
 * or line at the first mismatch.
 */
export class BackupReader {
  #state: ReaderState = { at: "header" };
  #header: BackupHeader | undefined;
  readonly #whole: Hash = createHash("sha256");
  #lineNumber = 0;
  #tables = 0;
  #rows = 0;

  get header(): BackupHeader | undefined {
    return this.#header;
  }

  read(text: Buffer): BackupEvent {
    this.#lineNumber += 1;
    const state = this.#state;
    if (state.at === "done") throw this.#refuse("holds data after its trailer");
    const isRow = text[0] === 0x5b; // "["
    if (state.at === "table" && isRow) {
      const json = text.toString("utf8");
      const values = this.#json(json);
      if (
        !Array.isArray(values) ||
        values.length !== state.columns ||
        !values.every((value) => value === null || typeof value === "string")
      ) {
        throw this.#refuse(
          `is not a row of ${state.columns} text-or-null values of table ${state.table}: the backup is damaged`,
        );
      }
      state.hash.update(text).update("\n");
      state.rows += 1;
      this.#digest(text);
      return { kind: "row", table: state.table, json };
    }
    const control = this.#json(text.toString("utf8"));
    switch (state.at) {
      case "header":
        return this.#readHeader(control, text);
      case "between": {
        const tables = this.#header?.tables ?? [];
        const expected = tables[state.next];
        if (expected === undefined) return this.#readTrailer(control);
        const begin = Begin.safeParse(control);
        if (!begin.success || begin.data.begin !== expected.name) {
          throw this.#refuse(`should begin table ${expected.name}: the backup is damaged`);
        }
        this.#state = {
          at: "table",
          index: state.next,
          table: expected.name,
          columns: expected.columns.length,
          rows: 0,
          hash: createHash("sha256"),
        };
        this.#digest(text);
        return { kind: "begin", table: expected.name };
      }
      case "table": {
        const end = End.safeParse(control);
        if (!end.success || end.data.end !== state.table) {
          throw this.#refuse(`should be a row or the end of table ${state.table}: the backup is damaged`);
        }
        if (end.data.rows !== state.rows) {
          throw new BackupRefused(
            `row count mismatch in table ${state.table}: ${state.rows} rows read, ${end.data.rows} recorded when the backup was written`,
          );
        }
        if (end.data.sha256 !== state.hash.digest("hex")) {
          throw new BackupRefused(
            `checksum mismatch in table ${state.table}: its rows do not match the SHA-256 recorded when the backup was written`,
          );
        }
        this.#tables += 1;
        this.#rows += state.rows;
        this.#state = { at: "between", next: state.index + 1 };
        this.#digest(text);
        return { kind: "end", table: state.table, rows: state.rows };
      }
    }
  }

  /** Call at the end of the input: a backup without its trailer is truncated. */
  finish(): void {
    if (this.#state.at !== "done") {
      throw new BackupRefused(
        "the backup ends before its trailer: it is truncated (an interrupted copy, or a full volume)",
      );
    }
  }

  #readHeader(control: unknown, text: Buffer): BackupEvent {
    const object = (control ?? {}) as { format?: unknown; formatVersion?: unknown };
    if (object.format !== BACKUP_FORMAT) {
      throw new BackupRefused(`the file is not a ${BACKUP_FORMAT} file (no header on its first line)`);
    }
    if (typeof object.formatVersion === "number" && object.formatVersion > BACKUP_FORMAT_VERSION) {
      throw new BackupRefused(
        `the backup's format version ${object.formatVersion} is newer than this bot-runtime reads (${BACKUP_FORMAT_VERSION}): restore it with the bot-runtime that wrote it, or a newer one`,
      );
    }
    const parsed = BackupHeader.safeParse(control);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new BackupRefused(
        `the backup's header is malformed at ${issue?.path.join(".") || "its top level"}: ${issue?.message ?? "invalid"}`,
      );
    }
    if (new Set(parsed.data.tables.map((table) => table.name)).size !== parsed.data.tables.length) {
      throw new BackupRefused("the backup's header names a table twice");
    }
    this.#header = parsed.data;
    this.#state = { at: "between", next: 0 };
    this.#digest(text);
    return { kind: "header", header: parsed.data };
  }

  #readTrailer(control: unknown): BackupEvent {
    const trailer = Trailer.safeParse(control);
    if (!trailer.success) {
      throw this.#refuse("should be the trailer, as every table of the header has been read");
    }
    const { tables, rows, sha256 } = trailer.data.trailer;
    if (tables !== this.#tables || rows !== this.#rows) {
      throw new BackupRefused(
        `row count mismatch: ${this.#tables} tables and ${this.#rows} rows read, the trailer records ${tables} and ${rows}`,
      );
    }
    if (sha256 !== this.#whole.digest("hex")) {
      throw new BackupRefused(
        "checksum mismatch: the backup's content does not match the SHA-256 of its trailer",
      );
    }
    this.#state = { at: "done" };
    return { kind: "trailer", tables, rows, sha256 };
  }

  #digest(text: Buffer) {
    this.#whole.update(text).update("\n");
  }

  #json(text: string): unknown {
    try {
      return JSON.parse(text);
    } catch {
      throw this.#refuse("is not JSON: the backup is damaged");
    }
  }

  #refuse(what: string): BackupRefused {
    return new BackupRefused(`line ${this.#lineNumber} of the backup ${what}`);
  }
}

/** Cuts a byte stream into lines (without their "\n"), holding at most one partial line. */
export class LineSplitter {
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  readonly #maxLineBytes: number;

  constructor(maxLineBytes = MAX_LINE_BYTES) {
    this.#maxLineBytes = maxLineBytes;
  }

  *push(chunk: Uint8Array): Generator<Buffer> {
    let data = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    for (;;) {
      const newline = data.indexOf(NEWLINE);
      if (newline < 0) break;
      const piece = data.subarray(0, newline);
      data = data.subarray(newline + 1);
      if (this.#pending.length === 0) {
        // A copy: the caller may keep the line while the source reuses its buffer.
        yield Buffer.from(piece);
      } else {
        yield Buffer.concat([...this.#pending, piece]);
        this.#pending = [];
        this.#pendingBytes = 0;
      }
    }
    if (data.length > 0) {
      this.#pendingBytes += data.length;
      if (this.#pendingBytes > this.#maxLineBytes) {
        throw new BackupRefused(`the backup holds a line longer than ${this.#maxLineBytes} bytes`);
      }
      this.#pending.push(Buffer.from(data));
    }
  }

  /** Call at the end of the input: the last line must end with "\n". */
  end(): void {
    if (this.#pendingBytes > 0) {
      throw new BackupRefused("the backup ends in the middle of a line: it is truncated");
    }
  }
}
