import { DialectMigration } from './DialectMigration.ts';

/**
 * The interview's timeline (issue 23): one append-only event log per interview, keyed by the
 * interview and the entry's sequence number there, with the server's time, the browser's, the
 * offset into the recordings and small details; and the stable URL of the timeline's WebVTT file
 * stored beside the recordings (`timeline_vtt`, empty until uploaded).
 */
export class Migration20270101010000Timeline extends DialectMigration {
  protected override readonly statements = {
    sqlite: {
      up: [
        'create table `timeline_events` (' +
          '`interview_id` text not null, `seq` integer not null, `kind` text not null, `source` text not null, ' +
          '`at` datetime not null, `browser_at` datetime null, `media_seconds` real null, `details` json not null, ' +
          'primary key (`interview_id`, `seq`));',
        "alter table `interviews` add column `timeline_vtt` text not null default '';",
      ],
      down: ['drop table `timeline_events`;', 'alter table `interviews` drop column `timeline_vtt`;'],
    },
    postgresql: {
      up: [
        'create table "timeline_events" (' +
          '"interview_id" text not null, "seq" integer not null, "kind" text not null, "source" text not null, ' +
          '"at" timestamptz not null, "browser_at" timestamptz null, "media_seconds" double precision null, "details" jsonb not null, ' +
          'primary key ("interview_id", "seq"));',
        `alter table "interviews" add column "timeline_vtt" text not null default '';`,
      ],
      down: ['drop table "timeline_events";', 'alter table "interviews" drop column "timeline_vtt";'],
    },
  };
}
