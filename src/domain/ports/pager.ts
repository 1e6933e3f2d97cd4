/**
 * The Pager port: page the on-call person through an on-call tool (PagerDuty, Opsgenie) when an
 * alert stays unanswered, and close that page once someone takes the alert or decides. The tool
 * owns schedules and quiet hours; the bot only triggers and resolves. Implementations in
 * src/adapters/pagerduty/ and src/adapters/opsgenie/; failures are AppErrors (the escalation
 * sweeper retries them later).
 */
export interface Page {
  /** Dedup key at the tool (PagerDuty `dedup_key`, Opsgenie `alias`): the alert key, so one alert is one page. */
  dedupKey: string;
  /** One line: severity, title, reference code. */
  summary: string;
  severity: 'high' | 'medium' | 'low' | 'informational' | 'unknown';
  /** Where to look (the Defender portal link), when known. */
  link?: string;
  details: Record<string, string>;
}

export interface Pager {
  /** `pagerduty` or `opsgenie`: recorded with the page so the resolve goes to the same tool. */
  readonly name: string;
  trigger(page: Page): Promise<void>;
  /** Closes the page with this dedup key (a page already closed or never opened is not an error). */
  resolve(dedupKey: string, note: string): Promise<void>;
}
