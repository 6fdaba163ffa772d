import { DialectMigration } from './DialectMigration.ts';

/**
 * The service's keys, shared by every node of a cluster (REDIS_URL): one row per key, inserted
 * once by whichever node starts first (insert-if-absent on the primary key) and read by all, so a
 * link one node signs is accepted by every node. A single node keeps them in DATA_DIR/secrets.json
 * and leaves this table empty.
 */
export class Migration20261201030000ServiceSecrets extends DialectMigration {
  protected override readonly statements = {
    sqlite: {
      up: ['create table `service_secrets` (`name` text not null primary key, `value` text not null, `created_at` datetime not null);'],
      down: ['drop table `service_secrets`;'],
    },
    postgresql: {
      up: ['create table "service_secrets" ("name" text not null primary key, "value" text not null, "created_at" timestamptz not null);'],
      down: ['drop table "service_secrets";'],
    },
  };
}
