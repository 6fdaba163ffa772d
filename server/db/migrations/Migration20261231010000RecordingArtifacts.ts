import { DialectMigration } from './DialectMigration.ts';

/**
 * Files made from a recording after its videos are stored (the filmstrip), one row per artifact
 * and interview with its own status: `pending` until made and stored, then `stored` or `failed`.
 * Deleted with the interview's recordings.
 */
export class Migration20261231010000RecordingArtifacts extends DialectMigration {
  protected override readonly statements = {
    sqlite: {
      up: [
        `create table \`recording_artifacts\` (
      \`id\` text not null primary key,
      \`interview_id\` text not null references \`interviews\` (\`id\`) on delete cascade,
      \`name\` text not null,
      \`status\` text check (\`status\` in ('pending', 'stored', 'failed')) not null,
      \`object_key\` text not null,
      \`content_type\` text not null,
      \`size_bytes\` integer not null default 0,
      \`details\` json null,
      \`error\` text null,
      \`updated_at\` datetime not null
    );`,
        'create index `recording_artifacts_interview_id_index` on `recording_artifacts` (`interview_id`);',
      ],
      down: ['drop table if exists `recording_artifacts`;'],
    },
    postgresql: {
      up: [
        `create table "recording_artifacts" (
      "id" text not null primary key,
      "interview_id" text not null references "interviews" ("id") on delete cascade,
      "name" text not null,
      "status" text check ("status" in ('pending', 'stored', 'failed')) not null,
      "object_key" text not null,
      "content_type" text not null,
      "size_bytes" bigint not null default 0,
      "details" jsonb null,
      "error" text null,
      "updated_at" timestamptz not null
    );`,
        'create index "recording_artifacts_interview_id_index" on "recording_artifacts" ("interview_id");',
      ],
      down: ['drop table if exists "recording_artifacts";'],
    },
  };
}
