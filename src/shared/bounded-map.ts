/**
 * `map.set` for a cache bounded by count: the key is re-inserted so that insertion order is age
 * order (or recency, when a hit is set again), and the oldest entries past `max` are dropped.
 */
export function setBounded<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  while (map.size > max) map.delete(map.keys().next().value as K);
}
