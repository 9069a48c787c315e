export { type CrashStore, type CrashTarget } from './crash-target.ts';
export { persistentCrashSuite } from './persistent-crash-suite.ts';
export { sharedCrashSuite } from './shared-crash-suite.ts';
export { sessionCrashSuite } from './session-crash-suite.ts';
