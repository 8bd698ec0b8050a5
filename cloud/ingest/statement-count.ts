import type {
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from "kysely";
import type { Db } from "../db/connect.ts";

/**
 * Counts the statements a Db runs through Kysely (every query builder and `sql` template; not
 * BEGIN/COMMIT, which Kysely's driver sends itself, nor better-sqlite3's prepared bulk insert).
 * For measuring round trips per batch (tests, benchmarks); never used on the production path.
 */
export function countingDb(db: Db): {
  db: Db;
  count(): number;
  reset(): void;
  kinds(): Record<string, number>;
} {
  let n = 0;
  let kinds: Record<string, number> = {};
  const plugin: KyselyPlugin = {
    transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
      n++;
      kinds[args.node.kind] = (kinds[args.node.kind] ?? 0) + 1;
      return args.node;
    },
    async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
      return args.result;
    },
  };
  return {
    db: { ...db, kysely: db.kysely.withPlugin(plugin) },
    count: () => n,
    kinds: () => kinds,
    reset() {
      n = 0;
      kinds = {};
    },
  };
}
