import { Migration } from '@mikro-orm/migrations';

/** Recording/upload state per file, and the list of gaps per interview, for crash recovery. */
export class Migration20261124010000RecordingFiles extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table \`recording_files\` (
      \`id\` text not null primary key,
      \`interview_id\` text not null references \`interviews\` (\`id\`) on delete cascade,
      \`kind\` text check (\`kind\` in ('screen', 'candidate')) not null,
      \`status\` text check (\`status\` in ('recording', 'finalized', 'uploading', 'uploaded', 'failed')) not null,
      \`object_key\` text not null,
      \`size_bytes\` integer not null default 0,
      \`uploaded_bytes\` integer not null default 0,
      \`error\` text null,
      \`updated_at\` datetime not null
    );`);
    this.addSql('create index `recording_files_interview_id_index` on `recording_files` (`interview_id`);');
    this.addSql("alter table `interviews` add column `gaps` json not null default '[]';");
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists `recording_files`;');
    this.addSql('alter table `interviews` drop column `gaps`;');
  }
}
