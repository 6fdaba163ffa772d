import { DialectMigration } from './DialectMigration.ts';

/**
 * A failed interview is delivered again by itself, with backoff: how many of its deliveries failed
 * in a row (`failed_deliveries`, which picks the next wait) and when the next retry is due
 * (`next_retry_at`, null when none is). Every node looks for failed interviews whose retry is due;
 * the retry moves the status with a compare-and-set, so one node takes it.
 */
export class Migration20261230010000FailedRetries extends DialectMigration {
  protected override readonly statements = {
    sqlite: {
      up: ['alter table `interviews` add column `failed_deliveries` integer not null default 0;', 'alter table `interviews` add column `next_retry_at` datetime null;'],
      down: ['alter table `interviews` drop column `failed_deliveries`;', 'alter table `interviews` drop column `next_retry_at`;'],
    },
    postgresql: {
      up: ['alter table "interviews" add column "failed_deliveries" integer not null default 0;', 'alter table "interviews" add column "next_retry_at" timestamptz null;'],
      down: ['alter table "interviews" drop column "failed_deliveries";', 'alter table "interviews" drop column "next_retry_at";'],
    },
  };
}
