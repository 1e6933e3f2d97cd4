/** Sets `target[key]` only when there is a value, so optional fields a source lacks stay absent. */
export function assignIfPresent<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) target[key] = value;
}
