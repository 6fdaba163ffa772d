import { Migration } from '@mikro-orm/migrations';

/**
 * A progressive upload's multipart state per file: the upload id, the part size and every stored
 * part (number, ETag, size, MD5), so a restarted service can complete it (s3rver has no ListParts).
 */
export class Migration20261124020000MultipartState extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table `recording_files` add column `multipart_upload_id` text null;');
    this.addSql('alter table `recording_files` add column `multipart_part_size_bytes` integer null;');
    this.addSql("alter table `recording_files` add column `multipart_parts` json not null default '[]';");
  }

  override async down(): Promise<void> {
    this.addSql('alter table `recording_files` drop column `multipart_upload_id`;');
    this.addSql('alter table `recording_files` drop column `multipart_part_size_bytes`;');
    this.addSql('alter table `recording_files` drop column `multipart_parts`;');
  }
}
