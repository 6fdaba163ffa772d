import type { MigrationObject } from '@mikro-orm/core';
import { Migration } from '@mikro-orm/migrations';

/** The SQL dialects the service's database can speak: SQLite on one node, PostgreSQL when shared. */
export type SqlDialect = 'sqlite' | 'postgresql';

/** One migration's statements in one dialect. */
export interface DialectStatements {
  up: readonly string[];
  down: readonly string[];
}

/**
 * A schema migration written out once per dialect. The SQLite statements are the ones that ran on
 * every single-node database before PostgreSQL existed here: they are history and never change.
 * The PostgreSQL statements build the same schema with that dialect's types (timestamptz, jsonb,
 * bigint where SQLite's 64-bit integer holds byte counts).
 */
export abstract class DialectMigration extends Migration {
  protected abstract readonly statements: Readonly<Record<SqlDialect, DialectStatements>>;
  #dialect: SqlDialect | undefined;

  /** Which statements run; called by migrationsFor()'s classes, since MikroORM constructs the migration. */
  useDialect(dialect: SqlDialect): void {
    this.#dialect = dialect;
  }

  override up(): void {
    for (const statement of this.#statements().up) this.addSql(statement);
  }

  override down(): void {
    for (const statement of this.#statements().down) this.addSql(statement);
  }

  #statements(): DialectStatements {
    if (!this.#dialect) throw new Error(`${this.constructor.name} has no dialect: list it through migrationsFor()`);
    return this.statements[this.#dialect];
  }
}

type MigrationArgs = ConstructorParameters<typeof Migration>;
// The instance type names only what the factory calls (DialectMigration's own is abstract).
type DialectMigrationClass = new (...args: MigrationArgs) => Pick<DialectMigration, 'up' | 'down' | 'useDialect'>;

/** MikroORM's migration list for one dialect, under the names already recorded in existing databases. */
export function migrationsFor(dialect: SqlDialect, migrations: ReadonlyArray<{ name: string; class: DialectMigrationClass }>): MigrationObject[] {
  return migrations.map(({ name, class: Base }) => ({
    name,
    class: class extends Base {
      constructor(...args: MigrationArgs) {
        super(...args);
        this.useDialect(dialect);
      }
    },
  }));
}
