// Public API of name-based gambling discovery. The word lists, segmenter and suffix helpers stay
// reachable as @betblocker/common/discovery/lexicon, /segment and /suffix without widening the root namespace.
export * from "./classify";
export type { Features, FeatureValue } from "./features";
