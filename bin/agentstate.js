#!/usr/bin/env node
// Node 24 strips the TypeScript types of src/ itself; no build step for the CLI.
await import('../src/main.ts');
