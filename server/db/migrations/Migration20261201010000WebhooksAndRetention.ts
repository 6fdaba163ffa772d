import { DialectMigration } from './DialectMigration.ts';

/**
 * The webhook outbox (one row per event, written in the same transaction as the change it
 * reports, delivered and retried from here), and when an interview's recordings were deleted.
 */
export class Migration20261201010000WebhooksAndRetention extends DialectMigration {
  protected override readonly statements = {
    sqlite: {
      up: [
        'create table `webhook_events` (' +
          '`id` text not null primary key, `type` text not null, `interview_id` text not null, `payload` json not null, ' +
          '`created_at` datetime not null, `attempts` integer not null default 0, `next_attempt_at` datetime not null, ' +
          '`delivered_at` datetime null, `gave_up_at` datetime null, `last_error` text null);',
        'create index `webhook_events_pending_index` on `webhook_events` (`delivered_at`, `gave_up_at`, `next_attempt_at`);',
        'create index `webhook_events_interview_id_index` on `webhook_events` (`interview_id`);',
        'alter table `interviews` add column `recordings_deleted_at` datetime null;',
      ],
      down: ['drop table `webhook_events`;', 'alter table `interviews` drop column `recordings_deleted_at`;'],
    },
    postgresql: {
      up: [
        'create table "webhook_events" (' +
          '"id" text not null primary key, "type" text not null, "interview_id" text not null, "payload" jsonb not null, ' +
          '"created_at" timestamptz not null, "attempts" integer not null default 0, "next_attempt_at" timestamptz not null, ' +
          '"delivered_at" timestamptz null, "gave_up_at" timestamptz null, "last_error" text null);',
        'create index "webhook_events_pending_index" on "webhook_events" ("delivered_at", "gave_up_at", "next_attempt_at");',
        'create index "webhook_events_interview_id_index" on "webhook_events" ("interview_id");',
        'alter table "interviews" add column "recordings_deleted_at" timestamptz null;',
      ],
      down: ['drop table "webhook_events";', 'alter table "interviews" drop column "recordings_deleted_at";'],
    },
  };
}
