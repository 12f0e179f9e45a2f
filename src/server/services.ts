// The long-lived parts of a server, made once at start-up and shared by all
// requests: control-plane database, vector stores, live events.
import type { Config } from '../config/env.js';
import type { Database } from '../db/create-database.js';
import type { NexusEvents } from '../events/nexus-events.js';
import type { Logger } from '../log/logger.js';
import type { VectorStores } from '../vectors/store.js';

export interface Services {
  readonly config: Config;
  readonly db: Database;
  readonly vectors: VectorStores;
  readonly events: NexusEvents;
  readonly log: Logger;
}
