import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, createTestApp, type TestApp } from './helpers/runtime.ts';
import { OWNED_RESOURCES } from './helpers/two-user-matrix.ts';
import { type Caller, signUp, withToken } from './helpers/users.ts';

/** A response with the id it quotes blanked out: what a caller could learn from it. */
const visible = (
  res: { statusCode: number; headers: Record<string, unknown>; body: string },
  id: string,
) => ({
  status: res.statusCode,
  type: res.headers['content-type'],
  body: res.body.replaceAll(id, '<id>'),
});

describe.each(BACKENDS)('two users on every user endpoint, on %s', (backend) => {
  let t: TestApp;
  const callers: Record<'session' | 'token', { alice: Caller; bob: Caller }> = {} as never;

  beforeAll(async () => {
    t = await createTestApp(backend);
    const alice = await signUp(t.app, { name: 'Alice' });
    const bob = await signUp(t.app, { name: 'Bob' });
    callers.session = { alice, bob };
    callers.token = { alice: await withToken(t.app, alice), bob: await withToken(t.app, bob) };
  });
  afterAll(() => t.close());

  describe.each(OWNED_RESOURCES.map((r) => [r.name, r] as const))('%s', (_name, resource) => {
    describe.each(['session', 'token'] as const)('callers signed in by %s', (via) => {
      for (const request of resource.byId)
        it(`${request.method} by id: another user's id answers exactly like a missing id`, async () => {
          const { alice, bob } = callers[via];
          const id = await resource.create(t.app, alice, { ingestToken: t.ingestToken });
          const before = await resource.readBack(t.app, alice, id);
          const send = (target: string) =>
            t.app.inject({
              method: request.method,
              url: request.url(target),
              headers: bob.headers,
              ...(request.payload !== undefined && { payload: request.payload as object }),
            });

          const foreign = await send(id);
          const missing = await send(resource.missingId);
          expect(foreign.statusCode).toBe(404);
          expect(visible(foreign, id)).toEqual(visible(missing, resource.missingId));
          expect(await resource.readBack(t.app, alice, id)).toEqual(before);
        });

      for (const list of resource.lists)
        it(`GET ${list.url} lists the caller's own only`, async () => {
          const { alice, bob } = callers[via];
          const id = await resource.create(t.app, alice, { ingestToken: t.ingestToken });
          const ids = async (caller: Caller) => {
            const res = await t.app.inject({ method: 'GET', url: list.url, headers: caller.headers });
            expect(res.statusCode).toBe(200);
            return list.items(res.json()).map((item) => item.id);
          };
          expect(await ids(alice)).toContain(id);
          expect(await ids(bob)).not.toContain(id);
        });
    });
  });
});
