// The in-process event log: ids in order, retention by count and by age, and the floor that tells a resuming
// stream it missed something.
import { describe, expect, it } from '@jest/globals';
import { compareIds, createMemoryEventLog, previousId, type LogEntry } from '../../src/events/event-log.js';

const lost = (domainKey: string) => (id: string): LogEntry => ({ id, lost: { domainKey } });

describe('event ids', () => {
  it('order by time, then by sequence, numerically', () => {
    expect(compareIds('9-0', '10-0')).toBeLessThan(0);
    expect(compareIds('10-2', '10-10')).toBeLessThan(0);
    expect(compareIds('10-10', '10-10')).toBe(0);
    expect(compareIds('11-0', '10-18446744073709551615')).toBeGreaterThan(0);
  });

  it('have a predecessor just before them', () => {
    expect(previousId('10-3')).toBe('10-2');
    expect(previousId('10-0')).toBe('9-18446744073709551615');
    expect(compareIds(previousId('10-0'), '10-0')).toBeLessThan(0);
    expect(compareIds(previousId('10-0'), '9-99')).toBeGreaterThan(0);
  });
});

describe('the in-process log', () => {
  it('hands out increasing ids, even within one millisecond', () => {
    const log = createMemoryEventLog({ ms: 60_000, events: 100 }, () => 1000);
    const ids = Array.from({ length: 5 }, () => log.append('t', lost('health')).id);
    expect(ids).toEqual(['1000-0', '1000-1', '1000-2', '1000-3', '1000-4']);
    log.close();
  });

  it('keeps the last N entries and says where it dropped some', () => {
    const log = createMemoryEventLog({ ms: 60_000, events: 3 }, () => 1000);
    const ids = Array.from({ length: 5 }, () => log.append('t', lost('health')).id);
    const page = log.replay('t', '0-0', 10);
    expect(page.entries.map((e) => e.id)).toEqual(ids.slice(2));
    expect(page.floor).toBe(ids[1]);
    // After the floor: only what is kept; paged.
    expect(log.replay('t', ids[2]!, 1).entries.map((e) => e.id)).toEqual([ids[3]]);
    log.close();
  });

  it('drops entries older than the retention', () => {
    let now = 1000;
    const log = createMemoryEventLog({ ms: 10_000, events: 100 }, () => now);
    const old = log.append('t', lost('health')).id;
    now = 8000;
    const kept = log.append('t', lost('health')).id;
    now = 11_000;
    const page = log.replay('t', '0-0', 10);
    expect(page.entries.map((e) => e.id)).toEqual([kept]);
    expect(page.floor).toBe(old);
    log.close();
  });

  it('knows nothing before its first entry (a restart): a resume from earlier is below the floor', () => {
    const log = createMemoryEventLog({ ms: 60_000, events: 100 }, () => 5000);
    const first = log.append('t', lost('health')).id;
    const page = log.replay('t', '4000-0', 10);
    expect(compareIds('4000-0', page.floor!)).toBeLessThan(0);
    expect(page.entries.map((e) => e.id)).toEqual([first]);
    // Resuming exactly from the floor is no gap, and misses nothing.
    expect(log.replay('t', page.floor!, 10).entries.map((e) => e.id)).toEqual([first]);
    log.close();
  });

  it('gives a tenant with no log a floor of now, remembered, so resuming from it is not a gap again', () => {
    let now = 7000;
    const log = createMemoryEventLog({ ms: 60_000, events: 100 }, () => now);
    const page = log.replay('quiet', '10-0', 10);
    expect(page).toEqual({ entries: [], floor: '7000-0' });
    now = 9000;
    const next = log.append('quiet', lost('health'));
    const again = log.replay('quiet', '7000-0', 10);
    expect(again.floor).toBe('7000-0');
    expect(again.entries).toEqual([next]);
    log.close();
  });

  it('keeps tenants apart', () => {
    const log = createMemoryEventLog({ ms: 60_000, events: 100 });
    log.append('a', lost('health'));
    expect(log.replay('b', '0-0', 10).entries).toEqual([]);
    expect(log.head('b')).toBeNull();
    log.close();
  });
});
