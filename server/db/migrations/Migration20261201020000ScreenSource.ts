import { DialectMigration } from './DialectMigration.ts';

/**
 * What the candidate's browser said about the shared screen: `{verdict, evidence}`, where verdict
 * `unverified` means the browser (Firefox, some Safari versions) gave no surface type and the
 * page accepted the share without proof that it is a whole monitor. Null until a screen is shared.
 */
export class Migration20261201020000ScreenSource extends DialectMigration {
  protected override readonly statements = {
    sqlite: {
      up: ['alter table `interviews` add column `screen_source` json null;'],
      down: ['alter table `interviews` drop column `screen_source`;'],
    },
    postgresql: {
      up: ['alter table "interviews" add column "screen_source" jsonb null;'],
      down: ['alter table "interviews" drop column "screen_source";'],
    },
  };
}
