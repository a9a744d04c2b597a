import postgres from "postgres";

export type Sql = postgres.Sql<Record<string, never>>;
export type TransactionSql = postgres.TransactionSql<Record<string, never>>;
/** Anything that runs queries: the pool or a transaction. */
export type Queryable = Sql | TransactionSql;

export interface SqlOptions {
  max?: number;
  /** Connection role for logs only; never printed with its password. */
  applicationName?: string;
}

/**
 * A postgres.js client with the project's conventions: int8 columns parse to JS numbers (ids and counts stay
 * far below 2^53), NOTICE messages are not printed, and connections close when idle.
 */
export function createSql(url: string, options: SqlOptions = {}): Sql {
  return postgres(url, {
    max: options.max ?? 10,
    idle_timeout: 30,
    connect_timeout: 15,
    onnotice: () => {},
    connection: { application_name: options.applicationName ?? "betblocker" },
    types: {
      bigint: {
        to: 20,
        from: [20],
        serialize: (value: number | bigint) => value.toString(),
        parse: (value: string) => Number(value),
      },
    },
  }) as unknown as Sql;
}

/** postgres://user:secret@host/db -> postgres://user:***@host/db, for logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "<unparseable database URL>";
  }
}
