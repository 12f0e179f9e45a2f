// Everything a request needs, built once per request: who is calling, the
// per-request DataLoaders, a logger carrying the request id.
import type { Config } from '../config/env.js';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { Logger } from '../log/logger.js';
import type { Viewer } from '../auth/viewer.js';
import type { Loaders } from './loaders/create-loaders.js';
import type { Services } from '../server/services.js';
import { UnauthenticatedError } from '../auth/errors.js';

export interface NexusContext {
  readonly config: Config;
  readonly prisma: PrismaClient;
  readonly services: Services;
  readonly viewer: Viewer | null;
  readonly loaders: Loaders;
  readonly log: Logger;
  readonly requestId: string;
}

/** The viewer of a context that the shield rules have already authenticated (and, should a rule be missing, still denied). */
export function viewerOf(ctx: NexusContext): Viewer {
  if (!ctx.viewer) throw new UnauthenticatedError();
  return ctx.viewer;
}
