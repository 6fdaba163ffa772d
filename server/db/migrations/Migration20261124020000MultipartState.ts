import { DialectMigration } from './DialectMigration.ts';

/**
 * A progressive upload's multipart state per file: the upload id, the part size and every stored
 * part (number, ETag, size, MD5), so a restarted service can complete it (s3rver has no ListParts).
 */
export class Migration20261124020000MultipartState extends DialectMigration {
  protected override readonly statements = {
    sqlite: {
      up: [
        'alter table `recording_files` add column `multipart_upload_id` text null;',
        'alter table `recording_files` add column `multipart_part_size_bytes` integer null;',
        "alter table `recording_files` add column `multipart_parts` json not null default '[]';",
      ],
      down: [
        'alter table `recording_files` drop column `multipart_upload_id`;',
        'alter table `recording_files` drop column `multipart_part_size_bytes`;',
        'alter table `recording_files` drop column `multipart_parts`;',
      ],
    },
    postgresql: {
      up: [
        'alter table "recording_files" add column "multipart_upload_id" text null;',
        'alter table "recording_files" add column "multipart_part_size_bytes" integer null;',
        `alter table "recording_files" add column "multipart_parts" jsonb not null default '[]';`,
      ],
      down: [
        'alter table "recording_files" drop column "multipart_upload_id";',
        'alter table "recording_files" drop column "multipart_part_size_bytes";',
        'alter table "recording_files" drop column "multipart_parts";',
      ],
    },
  };
}
