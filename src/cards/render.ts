import { createRequire } from 'node:module';
import type * as Templating from 'adaptivecards-templating';

const prepared = new WeakMap<object, Templating.Template>();

/**
 * The templating engine (with adaptive-expressions and its parser, some 20 MB) is loaded on the
 * first card, not at start: a bot that has posted nothing yet should not hold it. Loaded
 * synchronously (require) so that rendering stays a plain function.
 */
let engine: typeof Templating | undefined;
function templating(): typeof Templating {
  engine ??= createRequire(import.meta.url)('adaptivecards-templating') as typeof Templating;
  return engine;
}

/**
 * Expands an Adaptive Card template (`${...}` syntax) with data. Data values are substituted as
 * values, never re-parsed as template expressions, so alert text containing `${...}` or JSON
 * punctuation stays inert text (test/unit/alert-card.test.ts proves it). The result is a fresh plain
 * object (JSON round-trip) so callers may mutate or serialize it freely.
 *
 * Callers must supply every field the template names: the engine leaves an undefined field as its
 * literal `${path}`; renderTemplate throws instead of letting such a card reach Teams.
 */
export function renderTemplate(templateJson: object, data: object): Record<string, unknown> {
  let template = prepared.get(templateJson);
  if (!template) {
    template = new (templating().Template)(templateJson);
    prepared.set(templateJson, template);
  }
  const expanded: unknown = template.expand({ $root: data });
  const json = JSON.stringify(expanded);
  const card = JSON.parse(json) as Record<string, unknown>;
  const unresolved = findUnresolved(card, collectStrings(data));
  if (unresolved) {
    throw new Error(`Card template left '${unresolved}' unresolved: the card data lacks a field the template uses.`);
  }
  return card;
}

/** A `${...}` in the output that did not come from a data value means a missing field. */
function findUnresolved(node: unknown, dataStrings: Set<string>): string | undefined {
  if (typeof node === 'string') {
    if (!node.includes('${')) return undefined;
    const fromData = [...dataStrings].some((value) => value.includes('${') && node.includes(value));
    return fromData ? undefined : node;
  }
  if (Array.isArray(node)) {
    for (const child of node) {
      const found = findUnresolved(child, dataStrings);
      if (found) return found;
    }
    return undefined;
  }
  if (node !== null && typeof node === 'object') {
    for (const child of Object.values(node)) {
      const found = findUnresolved(child, dataStrings);
      if (found) return found;
    }
  }
  return undefined;
}

function collectStrings(node: unknown, into: Set<string> = new Set()): Set<string> {
  if (typeof node === 'string') into.add(node);
  else if (Array.isArray(node)) for (const child of node) collectStrings(child, into);
  else if (node !== null && typeof node === 'object') for (const child of Object.values(node)) collectStrings(child, into);
  return into;
}
