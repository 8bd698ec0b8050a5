import {
  type DatabaseIntrospector,
  type DatabaseMetadata,
  type DatabaseMetadataOptions,
  type Kysely,
  PostgresDialect,
  type SchemaMetadata,
  sql,
  type TableMetadata,
} from "kysely";

/**
 * Kysely's PostgreSQL introspector lists every table of every schema and calls
 * `has_schema_privilege(name, …)` on each: a schema dropped by someone else mid-query (other
 * tenants, other test runs) fails our migration with "schema … does not exist". The migrator only
 * asks whether its own two tables exist, so this one looks in one schema only: the configured one,
 * or the connection's `current_schema()`.
 */
class ScopedPostgresIntrospector implements DatabaseIntrospector {
  constructor(
    private readonly db: Kysely<unknown>,
    private readonly schema: string | undefined,
  ) {}

  async getSchemas(): Promise<SchemaMetadata[]> {
    const { rows } = await sql<{ name: string }>`select nspname as name from pg_catalog.pg_namespace`.execute(
      this.db,
    );
    return rows;
  }

  async getTables(_options?: DatabaseMetadataOptions): Promise<TableMetadata[]> {
    const target = this.schema ? sql`${this.schema}` : sql`current_schema()`;
    const { rows } = await sql<{ name: string; schema: string; is_view: boolean }>`
      select c.relname as name, ns.nspname as schema, c.relkind = 'v' as is_view
        from pg_catalog.pg_class c
        join pg_catalog.pg_namespace ns on ns.oid = c.relnamespace
       where ns.nspname = ${target} and c.relkind in ('r', 'v', 'p')
       order by c.relname`.execute(this.db);
    return rows.map((r) => ({ name: r.name, schema: r.schema, isView: r.is_view, columns: [] }));
  }

  async getMetadata(options?: DatabaseMetadataOptions): Promise<DatabaseMetadata> {
    return { tables: await this.getTables(options) };
  }
}

/** PostgreSQL through pg, with introspection scoped to one schema (see above). */
export class ScopedPostgresDialect extends PostgresDialect {
  constructor(
    config: ConstructorParameters<typeof PostgresDialect>[0],
    private readonly schema: string | undefined,
  ) {
    super(config);
  }

  override createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new ScopedPostgresIntrospector(db, this.schema);
  }
}
