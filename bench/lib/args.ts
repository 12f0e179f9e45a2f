// Minimal `--name value` argv parsing for benchmarks: whole numbers only,
// unknown flags rejected so a typo never silently runs the defaults.

export function parseIntArgs<T extends Record<string, number>>(argv: readonly string[], defaults: T): T {
  const out: Record<string, number> = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    const name = match?.[1];
    if (!match || name === undefined || !(name in defaults)) {
      throw new Error(`unknown argument ${JSON.stringify(arg)}; expected ${Object.keys(defaults).map((k) => `--${k} N`).join(' ')}`);
    }
    const raw = match[2] ?? argv[++i];
    if (raw === undefined || !/^\d+$/.test(raw)) throw new Error(`--${name} needs a whole number`);
    out[name] = Number(raw);
  }
  return out as T;
}
