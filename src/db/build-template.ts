// `npm run build:pglite` (part of `npm ci`): see PGLITE_TEMPLATE.
import path from 'node:path';
import { buildPgliteTemplate, PGLITE_TEMPLATE } from './connect.ts';

await buildPgliteTemplate();
console.log(`wrote ${path.relative(process.cwd(), PGLITE_TEMPLATE)}`);
