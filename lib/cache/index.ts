// The cache's public API.
export { Cache, CacheDamage, hashFile, type CacheEntry, type CacheEvent, type CacheLogRecord, type CacheManifest, type CacheOpenOptions, type CacheOutcome, type ClearResult } from "./cache.js";
export { cacheKey, type CacheKey, type CacheKeyInputs, type CacheKind } from "./key.js";
export { defaultCacheDir } from "./location.js";
export { checkShape, readCachedFile, readCachedJson, type Shape } from "./read.js";
