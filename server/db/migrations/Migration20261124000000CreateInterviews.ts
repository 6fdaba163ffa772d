import { DialectMigration } from './DialectMigration.ts';

export class Migration20261124000000CreateInterviews extends DialectMigration {
  protected override readonly statements = {
    sqlite: {
      up: [
        `create table \`interviews\` (
      \`id\` text not null primary key,
      \`status\` text check (\`status\` in ('created', 'live', 'finalizing', 'completed', 'failed')) not null default 'created',
      \`candidate_name\` text null,
      \`duration_seconds\` integer not null,
      \`created_at\` datetime not null,
      \`started_at\` datetime null,
      \`ends_at\` datetime null,
      \`completed_at\` datetime null,
      \`screen_video\` text not null default '' check (length(\`screen_video\`) <= 500),
      \`candidate_video\` text not null default '' check (length(\`candidate_video\`) <= 500),
      \`score\` integer not null default 0 check (\`score\` >= 0),
      \`notes\` text not null default '',
      \`failure_reason\` text null
    );`,
        'create index `interviews_status_index` on `interviews` (`status`);',
        'create index `interviews_created_at_index` on `interviews` (`created_at`);',
      ],
      down: ['drop table if exists `interviews`;'],
    },
    postgresql: {
      up: [
        `create table "interviews" (
      "id" text not null primary key,
      "status" text check ("status" in ('created', 'live', 'finalizing', 'completed', 'failed')) not null default 'created',
      "candidate_name" text null,
      "duration_seconds" integer not null,
      "created_at" timestamptz not null,
      "started_at" timestamptz null,
      "ends_at" timestamptz null,
      "completed_at" timestamptz null,
      "screen_video" text not null default '' check (length("screen_video") <= 500),
      "candidate_video" text not null default '' check (length("candidate_video") <= 500),
      "score" integer not null default 0 check ("score" >= 0),
      "notes" text not null default '',
      "failure_reason" text null
    );`,
        'create index "interviews_status_index" on "interviews" ("status");',
        'create index "interviews_created_at_index" on "interviews" ("created_at");',
      ],
      down: ['drop table if exists "interviews";'],
    },
  };
}
