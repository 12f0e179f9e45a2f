// Preloaded into a gateway process under a soak (NODE_OPTIONS="--expose-gc --import …/gc-on-signal.mjs"): SIGUSR2
// runs a full garbage collection, so the heap read just after it is what the process still holds, not garbage.
process.on('SIGUSR2', () => globalThis.gc?.());
