/** A schema migration. TypeScript rather than .sql files so esbuild bundles them into Lambdas. */
export interface Migration {
  /** `NNNN_name`; applied in array order, recorded in `schema_migrations`. Never edit an applied one. */
  readonly id: string;
  /** One or more statements; runs inside a transaction of its own. */
  readonly sql: string;
}
