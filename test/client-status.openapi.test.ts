import { expect, it } from 'vitest';
import { createTestApp } from './helpers/runtime.ts';

it('documents POST and GET /client-status in the OpenAPI document', async () => {
  const t = await createTestApp('pglite');
  try {
    const res = await t.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    const path = doc.paths['/client-status'];
    expect(Object.keys(path)).toEqual(['post', 'get']);
    expect(path.post.security).toEqual([{ ingestToken: [] }]);
    const ref = path.post.requestBody.content['application/json'].schema.$ref as string;
    expect(doc.components.schemas[ref.split('/').pop()!]).toBeDefined();
    expect(Object.keys(path.post.responses)).toEqual(
      expect.arrayContaining(['204', '401', '413', '415', '422']),
    );
  } finally {
    await t.close();
  }
});
