import { Migration } from '@mikro-orm/migrations';

/**
 * What the candidate's browser said about the shared screen: `{verdict, evidence}`, where verdict
 * `unverified` means the browser (Firefox, some Safari versions) gave no surface type and the
 * page accepted the share without proof that it is a whole monitor. Null until a screen is shared.
 */
export class Migration20261201020000ScreenSource extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table `interviews` add column `screen_source` json null;');
  }

  override async down(): Promise<void> {
    this.addSql('alter table `interviews` drop column `screen_source`;');
  }
}
