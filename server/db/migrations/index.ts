import type { MigrationObject } from '@mikro-orm/core';
import { migrationsFor, type SqlDialect } from './DialectMigration.ts';
import { Migration20261124000000CreateInterviews } from './Migration20261124000000CreateInterviews.ts';
import { Migration20261124010000RecordingFiles } from './Migration20261124010000RecordingFiles.ts';
import { Migration20261124020000MultipartState } from './Migration20261124020000MultipartState.ts';
import { Migration20261201010000WebhooksAndRetention } from './Migration20261201010000WebhooksAndRetention.ts';
import { Migration20261201020000ScreenSource } from './Migration20261201020000ScreenSource.ts';
import { Migration20261201030000ServiceSecrets } from './Migration20261201030000ServiceSecrets.ts';
import { Migration20261210010000FinalizationClaim } from './Migration20261210010000FinalizationClaim.ts';
import { Migration20261220010000EmbeddingContract } from './Migration20261220010000EmbeddingContract.ts';
import { Migration20261230010000FailedRetries } from './Migration20261230010000FailedRetries.ts';
import { Migration20261231010000RecordingArtifacts } from './Migration20261231010000RecordingArtifacts.ts';
import { Migration20270101010000Timeline } from './Migration20270101010000Timeline.ts';

/** Every migration, oldest first. Listed explicitly so no file-system discovery is needed at run time. */
const migrations = [
  { name: 'Migration20261124000000CreateInterviews', class: Migration20261124000000CreateInterviews },
  { name: 'Migration20261124010000RecordingFiles', class: Migration20261124010000RecordingFiles },
  { name: 'Migration20261124020000MultipartState', class: Migration20261124020000MultipartState },
  { name: 'Migration20261201010000WebhooksAndRetention', class: Migration20261201010000WebhooksAndRetention },
  { name: 'Migration20261201020000ScreenSource', class: Migration20261201020000ScreenSource },
  { name: 'Migration20261201030000ServiceSecrets', class: Migration20261201030000ServiceSecrets },
  { name: 'Migration20261210010000FinalizationClaim', class: Migration20261210010000FinalizationClaim },
  { name: 'Migration20261220010000EmbeddingContract', class: Migration20261220010000EmbeddingContract },
  { name: 'Migration20261230010000FailedRetries', class: Migration20261230010000FailedRetries },
  { name: 'Migration20261231010000RecordingArtifacts', class: Migration20261231010000RecordingArtifacts },
  { name: 'Migration20270101010000Timeline', class: Migration20270101010000Timeline },
];

/** The migrations' names in order, the same in every dialect (they are what each database records). */
export const migrationNames: readonly string[] = migrations.map((migration) => migration.name);

/** Every migration, oldest first, running the statements of `dialect`. */
export function migrationsList(dialect: SqlDialect): MigrationObject[] {
  return migrationsFor(dialect, migrations);
}
