// `npm run build:pglite` (part of `npm ci`): see pgliteTemplate().
import path from 'node:path';
import { buildPgliteTemplate, pgliteTemplate } from './connect.ts';

await buildPgliteTemplate();
console.log(`wrote ${path.relative(process.cwd(), pgliteTemplate())}`);
