import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openCountedStore, type CountedStore } from '../../testing/counted-store.ts';
import { createSessions, type Sessions } from './sessions.ts';

// The store calls of `state.session.*` before the answer: the session record is read in
// the same request as the key's head, so a session call costs what a persistent one
// does. A call added to the path fails here.

let counted: CountedStore;
let sessions: Sessions;
const callsOf = async (call: () => Promise<unknown>) => (await counted.callsOf(call)).calls;

beforeEach(async () => {
  counted = await openCountedStore();
  sessions = createSessions(counted.store);
});
afterEach(() => counted.close());

describe('session state: store calls before the answer', () => {
  it('creates in 4, updates in 2, reads in 1 and deletes in 2', async () => {
    const { session_id: id } = await sessions.open({ tenant: 't1', agent: 'a1' });
    const state = sessions.state('t1', id);
    await state.set('seed', 'x');
    const counts = {
      create: await callsOf(() => state.set('k', 1)),
      update: await callsOf(() => state.set('k', 'a longer value')),
      get: await callsOf(() => state.get('k')),
      absent: await callsOf(() => state.get('nothing')),
      delete: await callsOf(() => state.delete('k')),
      're-create': await callsOf(() => state.set('k', 'again')),
    };
    expect(counts).toEqual({ create: 4, update: 2, get: 1, absent: 1, delete: 2, 're-create': 4 });
  });

  it('finds the new generation after a clear by another worker, and guesses it next time', async () => {
    const { session_id: id } = await sessions.open({ tenant: 't1', agent: 'a1' });
    const state = sessions.state('t1', id);
    await state.set('k', 'old');
    await createSessions(counted.raw).state('t1', id).clear();
    expect(await state.get('k')).toEqual({ value: null, found: false });
    await state.set('k', 'new');
    expect(await callsOf(() => state.get('k'))).toBe(1);
    expect(await state.get('k')).toEqual({ value: 'new', found: true });
  });
});
