// Apache Arrow as LanceDB sees it. LanceDB is CommonJS and checks `instanceof` against the CommonJS build of
// apache-arrow; an ESM import loads a second copy whose tables it does not recognise (and then rebuilds, and
// rejects). Batches we build ourselves are built from this copy.
import { createRequire } from 'node:module';

export const arrow = createRequire(import.meta.url)('apache-arrow') as typeof import('apache-arrow');
