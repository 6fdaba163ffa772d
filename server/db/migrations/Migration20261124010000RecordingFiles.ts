import { DialectMigration } from './DialectMigration.ts';

/** Recording/upload state per file, and the list of gaps per interview, for crash recovery. */
export class Migration20261124010000RecordingFiles extends DialectMigration {
  protected override readonly statements = {
    sqlite: {
      up: [
        `create table \`recording_files\` (
      \`id\` text not null primary key,
      \`interview_id\` text not null references \`interviews\` (\`id\`) on delete cascade,
      \`kind\` text check (\`kind\` in ('screen', 'candidate')) not null,
      \`status\` text check (\`status\` in ('recording', 'finalized', 'uploading', 'uploaded', 'failed')) not null,
      \`object_key\` text not null,
      \`size_bytes\` integer not null default 0,
      \`uploaded_bytes\` integer not null default 0,
      \`error\` text null,
      \`updated_at\` datetime not null
    );`,
        'create index `recording_files_interview_id_index` on `recording_files` (`interview_id`);',
        "alter table `interviews` add column `gaps` json not null default '[]';",
      ],
      down: ['drop table if exists `recording_files`;', 'alter table `interviews` drop column `gaps`;'],
    },
    postgresql: {
      up: [
        // bigint: SQLite's integer is 64-bit, PostgreSQL's only 32 (a 2 GiB recording would not fit).
        `create table "recording_files" (
      "id" text not null primary key,
      "interview_id" text not null references "interviews" ("id") on delete cascade,
      "kind" text check ("kind" in ('screen', 'candidate')) not null,
      "status" text check ("status" in ('recording', 'finalized', 'uploading', 'uploaded', 'failed')) not null,
      "object_key" text not null,
      "size_bytes" bigint not null default 0,
      "uploaded_bytes" bigint not null default 0,
      "error" text null,
      "updated_at" timestamptz not null
    );`,
        'create index "recording_files_interview_id_index" on "recording_files" ("interview_id");',
        `alter table "interviews" add column "gaps" jsonb not null default '[]';`,
      ],
      down: ['drop table if exists "recording_files";', 'alter table "interviews" drop column "gaps";'],
    },
  };
}
