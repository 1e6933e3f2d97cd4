/**
 * Text for cards: dates a SOC spread over time zones reads the same way, summaries cut at a sentence,
 * and user or alert text made plain (no markdown, no links but https) before it reaches a card.
 */
const MAX_SUMMARY = 320;

/** "20 Nov 2026, 09:02 UTC": unambiguous for a SOC spread over time zones. */
export function readableUtc(iso: string | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const month = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][date.getUTCMonth()];
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.getUTCDate()} ${month} ${date.getUTCFullYear()}, ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())} UTC`;
}

/**
 * Input read by the text helpers below, at most: a summary or a fact shows a few hundred
 * characters, so nothing past this can change what is shown, and every regex after the cut runs
 * on a bounded text whatever an alert source or a card sends (a 40,000-character description
 * once blocked the event loop for 1.2 s in a backtracking sentence regex).
 */
export const MAX_TEXT_SCANNED = 4096;

/** The first one or two sentences of the description, cut at a word boundary. */
export function summarize(description: string): string {
  const flat = description.slice(0, MAX_TEXT_SCANNED).replace(/\s+/g, ' ').trim();
  if (!flat) return '';
  const sentences = firstSentences(flat, 2);
  let summary = sentences[0] ?? flat;
  const second = sentences[1];
  if (second && summary.length + second.length + 1 <= MAX_SUMMARY) summary = `${summary} ${second}`;
  return plain(summary, MAX_SUMMARY);
}

/**
 * Up to `count` sentences of a whitespace-collapsed text, in one linear scan: a sentence ends at a
 * run of . ! ? followed by a space or the end (so "v1.2" or "e.g." inside a word do not end it).
 */
function firstSentences(text: string, count: number): string[] {
  const sentences: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length && sentences.length < count; i++) {
    const c = text[i];
    if (c !== '.' && c !== '!' && c !== '?') continue;
    let end = i;
    while (end + 1 < text.length && '.!?'.includes(text[end + 1]!)) end++;
    if (end + 1 === text.length || text[end + 1] === ' ') {
      const sentence = text.slice(start, end + 1).trim();
      if (sentence) sentences.push(sentence);
      start = end + 1;
    }
    i = end;
  }
  if (sentences.length < count && start < text.length) {
    const rest = text.slice(start).trim();
    if (rest) sentences.push(rest);
  }
  return sentences;
}

/**
 * Untrusted text made safe for a TextBlock/FactSet: control characters removed, whitespace
 * collapsed, bounded length, and markdown syntax escaped so that a display name like
 * "[Click](https://evil)" shows as text instead of becoming a link.
 */
export function plain(value: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const flat = value.slice(0, Math.max(MAX_TEXT_SCANNED, max * 4)).replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ').replace(/\s+/g, ' ').trim();
  const cut = flat.length > max ? `${cutAtWord(flat, max - 1)}…` : flat;
  return escapeMarkdown(cut);
}

function cutAtWord(text: string, max: number): string {
  const slice = text.slice(0, max);
  const space = slice.lastIndexOf(' ');
  return (space > max * 0.6 ? slice.slice(0, space) : slice).trimEnd();
}

function escapeMarkdown(text: string): string {
  const escaped = text.replace(/\\(?=[\\`*_[\]()~<>#!])/g, '\\\\').replace(/[`*_[\]~<>]/g, (char) => `\\${char}`);
  // A leading "- ", "+ ", "# " or "1. " would turn the line into a list or heading.
  return escaped.replace(/^([-+#]|\d+\.)(?=\s)/, '\\$1');
}

export function safeUrl(url: string | undefined): string {
  if (!url) return '';
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.toString() : '';
  } catch {
    return '';
  }
}
