import { ACTION_CATALOG } from '../domain/actions.ts';
import type { Remediation } from '../domain/remediation.ts';
import { inSpan } from '../shared/telemetry.ts';
import { telemetryMetrics } from '../shared/telemetry-metrics.ts';

/**
 * The Remediation port with a span around each step of an action (inspect, run, read-back; the
 * adapters' LDAP and HTTP spans are their children) and the action's duration by system. Only
 * the action name, its system and dry-run are recorded: never the target, never the result (a
 * reset's temporary password is in it).
 */
export function tracedRemediation(inner: Remediation): Remediation {
  const systemOf = (action: string) => (ACTION_CATALOG as Record<string, { system: string } | undefined>)[action]?.system ?? 'unknown';
  return {
    supports: (action) => inner.supports(action),
    inspect: (action, target, options) => inSpan('remediation.inspect', { 'incident.action': action, 'incident.system': systemOf(action) }, () => inner.inspect(action, target, options)),
    run: (action, target, options) => {
      const system = systemOf(action);
      const started = performance.now();
      return inSpan('remediation.run', { 'incident.action': action, 'incident.system': system, 'incident.dry_run': options.dryRun }, () =>
        inner.run(action, target, options).then(
          (result) => {
            telemetryMetrics.actionRan(system, action, 'succeeded', performance.now() - started);
            return result;
          },
          (error: unknown) => {
            telemetryMetrics.actionRan(system, action, 'failed', performance.now() - started);
            throw error;
          },
        ),
      );
    },
    readBack: (action, target, options) => inSpan('remediation.read_back', { 'incident.action': action, 'incident.system': systemOf(action) }, () => inner.readBack(action, target, options)),
    // The optional members pass through as they are (a wrapper that dropped them once hid
    // Defender for Identity's offer and its "via Defender" line from every card).
    ...(inner.offerable ? { offerable: (action, target, options) => inner.offerable!(action, target, options) } : {}),
    ...(inner.describe ? { describe: (action) => inner.describe!(action) } : {}),
  };
}
