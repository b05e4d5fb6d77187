#!/usr/bin/env node
// Writes schemas/profile.schema.json from the option table (run after a build: it reads dist/).
//   npx tsc -p tsconfig.build.json && node scripts/profile-schema.mjs
import { writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { profileSchemaText, PROFILE_SCHEMA_FILE } = await import(resolve(root, 'dist/settings/schema.js'));
writeFileSync(resolve(root, PROFILE_SCHEMA_FILE), profileSchemaText());
console.log(`wrote ${PROFILE_SCHEMA_FILE}`);
