/** Grok: pattern library, RE2 -> V8 translation, compilation, literal extraction, ReDoS guard. */
export { PatternLibrary, type DefinitionSite } from './library.js';
export { compileGrok, compileGrokByName, expandGrok, type Grok } from './compile.js';
export { translateRe2, compileRe2, parseRe2, emitJs, type Re2Node, type Re2Parse } from './re2.js';
export { requiredLiterals } from './literals.js';
export { enableRegexpBacktrackGuard, linearEligible, relaxForGate } from './regexp-guard.js';
export { BUILTIN_PATTERNS } from './builtins.js';
export { anchoredFirstChar, mayStart, type FirstChar } from './first-char.js';
export { compileGrokData, instantiateGrok, grokKey } from './compile.js';
export { GROK_COMPILER_VERSION, GrokDiskCache, configureGrokDiskCache, grokDiskCache, type CompiledGrokData } from './disk-cache.js';
