import { DialectMigration } from './DialectMigration.ts';

/**
 * What a host app that embeds the service keeps on an interview: its own id (`external_id`,
 * unique, so a repeated create finds the interview instead of making a second one: two creates
 * racing with one id meet at this index), where the candidate goes after the end (`return_url`),
 * and a small JSON object of its own (`metadata`). All null for interviews created without them.
 */
export class Migration20261220010000EmbeddingContract extends DialectMigration {
  protected override readonly statements = {
    sqlite: {
      up: [
        'alter table `interviews` add column `external_id` text null;',
        'alter table `interviews` add column `return_url` text null;',
        'alter table `interviews` add column `metadata` json null;',
        'create unique index `interviews_external_id_unique` on `interviews` (`external_id`);',
      ],
      down: [
        'drop index `interviews_external_id_unique`;',
        'alter table `interviews` drop column `external_id`;',
        'alter table `interviews` drop column `return_url`;',
        'alter table `interviews` drop column `metadata`;',
      ],
    },
    postgresql: {
      up: [
        'alter table "interviews" add column "external_id" text null;',
        'alter table "interviews" add column "return_url" text null;',
        'alter table "interviews" add column "metadata" jsonb null;',
        'create unique index "interviews_external_id_unique" on "interviews" ("external_id");',
      ],
      down: [
        'drop index "interviews_external_id_unique";',
        'alter table "interviews" drop column "external_id";',
        'alter table "interviews" drop column "return_url";',
        'alter table "interviews" drop column "metadata";',
      ],
    },
  };
}
