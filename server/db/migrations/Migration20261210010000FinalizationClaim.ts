import { DialectMigration } from './DialectMigration.ts';

/**
 * Who finalizes an ended interview, and until when: the node that stored the end (or took the
 * delivery up later) writes its NODE_ID and an expiry, and keeps renewing the expiry while it
 * finalizes. Another node may take the delivery only once that expiry has passed — the finalizer
 * died — so two nodes never upload one interview (cluster mode; a single node is always the holder).
 */
export class Migration20261210010000FinalizationClaim extends DialectMigration {
  protected override readonly statements = {
    sqlite: {
      up: ['alter table `interviews` add column `finalizing_node` text null;', 'alter table `interviews` add column `claim_expires_at` datetime null;'],
      down: ['alter table `interviews` drop column `finalizing_node`;', 'alter table `interviews` drop column `claim_expires_at`;'],
    },
    postgresql: {
      up: ['alter table "interviews" add column "finalizing_node" text null;', 'alter table "interviews" add column "claim_expires_at" timestamptz null;'],
      down: ['alter table "interviews" drop column "finalizing_node";', 'alter table "interviews" drop column "claim_expires_at";'],
    },
  };
}
