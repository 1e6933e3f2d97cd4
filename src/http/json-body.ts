/**
 * Turns a bounded body (already capped by the body reader) into a JSON value, refusing bodies
 * that are not UTF-8, not JSON, or nested deeper than any Bot Framework activity is: deep nesting
 * costs nothing to send and makes later recursive walks (cloning, logging, card templating)
 * expensive or overflow the stack. The depth scan is one linear pass that skips string contents.
 */

export const MAX_JSON_DEPTH = 32;

export class JsonBodyError extends Error {
  readonly code = 'bad-json-body';
  readonly status = 400;
  constructor(message: string) {
    super(message);
    this.name = 'JsonBodyError';
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Deepest [ / { nesting of a JSON text, ignoring brackets inside strings. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > deepest) deepest = depth;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return deepest;
}

export function parseJsonBody(bytes: Buffer, maxDepth = MAX_JSON_DEPTH): unknown {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new JsonBodyError('The request body is not valid UTF-8.');
  }
  if (jsonDepth(text) > maxDepth) throw new JsonBodyError(`The request body is nested deeper than ${maxDepth} levels.`);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new JsonBodyError('The request body is not valid JSON.');
  }
}
