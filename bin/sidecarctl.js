#!/usr/bin/env node
// The bundled CLI (scripts/bundle-cli.mjs) starts faster; the plain tsc output works the same.
import '../dist/cli-bundle/main.js';
