// Imported first by benchmarks: measure what production runs. graphql-js reads
// NODE_ENV once, when it loads, and outside "production" its instanceOf checks
// cost ~0.2 s per 1000×384 remember batch. NODE_ENV=development still overrides.
process.env.NODE_ENV ??= 'production';

export const nodeEnv: string = process.env.NODE_ENV;
