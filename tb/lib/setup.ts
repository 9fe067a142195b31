// vitest setup file: runs in every test worker before the tests. Importing env validates the
// CXLFAB_* variables once, so a typo fails loudly instead of silently using defaults.
import './env.ts';
