/**
 * What Teams needs from a bot card, as a checker tests can run on any rendered card:
 * version <= 1.5, under ~28 KB serialized, no required inputs (broken on Teams mobile with
 * Action.Execute), every Action.Execute with an Action.Submit fallback carrying the same data (old
 * clients), every TextBlock wrapping (360 px phones), no ColumnSet wider than 2 columns.
 * Returns one line per violation; an empty list means the card passes.
 */
export const TEAMS_MAX_CARD_BYTES = 28 * 1024;
export const TEAMS_MAX_VERSION = '1.5';

export function checkTeamsCard(card: unknown): string[] {
  const violations: string[] = [];
  if (card === null || typeof card !== 'object' || Array.isArray(card)) return ['card is not an object'];
  const root = card as Record<string, unknown>;
  if (root.type !== 'AdaptiveCard') violations.push(`root type is ${JSON.stringify(root.type)}, not AdaptiveCard`);
  const version = typeof root.version === 'string' ? root.version : '';
  if (!version) violations.push('card has no version');
  else if (compareVersions(version, TEAMS_MAX_VERSION) > 0) violations.push(`version ${version} is above ${TEAMS_MAX_VERSION}`);
  const bytes = Buffer.byteLength(JSON.stringify(card), 'utf8');
  if (bytes >= TEAMS_MAX_CARD_BYTES) violations.push(`card is ${bytes} bytes, limit is under ${TEAMS_MAX_CARD_BYTES}`);
  walk(card, '$', violations);
  return violations;
}

function walk(node: unknown, path: string, violations: string[]): void {
  if (Array.isArray(node)) {
    node.forEach((child, index) => walk(child, `${path}[${index}]`, violations));
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const element = node as Record<string, unknown>;
  const type = typeof element.type === 'string' ? element.type : '';
  if (type.startsWith('Input.') && element.isRequired === true) violations.push(`${path}: ${type} has isRequired`);
  if (type === 'TextBlock' && element.wrap !== true) violations.push(`${path}: TextBlock without wrap: true`);
  if (type === 'ColumnSet' && Array.isArray(element.columns) && element.columns.length > 2) {
    violations.push(`${path}: ColumnSet with ${element.columns.length} columns`);
  }
  if (type === 'Action.Execute') checkExecuteFallback(element, path, violations);
  for (const [key, child] of Object.entries(element)) walk(child, `${path}.${key}`, violations);
}

function checkExecuteFallback(action: Record<string, unknown>, path: string, violations: string[]): void {
  const fallback = action.fallback;
  if (fallback === null || typeof fallback !== 'object' || (fallback as Record<string, unknown>).type !== 'Action.Submit') {
    violations.push(`${path}: Action.Execute without an Action.Submit fallback`);
    return;
  }
  const submitData = (fallback as Record<string, unknown>).data;
  const executeData = { ...(isRecord(action.data) ? action.data : {}), verb: action.verb };
  if (!isRecord(submitData) || !sameJson(executeData, submitData)) {
    violations.push(`${path}: Action.Submit fallback does not carry the same data (and verb) as the Action.Execute`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function sameJson(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const canonical = (value: Record<string, unknown>) => JSON.stringify(Object.fromEntries(Object.entries(value).sort(([x], [y]) => x.localeCompare(y))));
  return canonical(a) === canonical(b);
}

function compareVersions(a: string, b: string): number {
  const left = a.split('.').map(Number);
  const right = b.split('.').map(Number);
  for (let index = 0; index < Math.max(left.length, right.length); index += 1) {
    const diff = (left[index] ?? 0) - (right[index] ?? 0);
    if (Number.isNaN(diff)) return 1;
    if (diff !== 0) return diff;
  }
  return 0;
}
