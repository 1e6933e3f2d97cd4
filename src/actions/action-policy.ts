import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Zod from 'zod';
import { AppError } from '../domain/errors.ts';
import { ACTION_CATALOG, ACTION_NAMES } from './action-names.ts';
import type { ActionName } from './action-names.ts';
import defaultPolicyJson from './default-policy.json' with { type: 'json' };

/**
 * The policy schema, built on first use: the validator (zod) is loaded only to read an operator's
 * policy file; the built-in policy is checked against this same schema by the unit tests.
 */
let schema: Zod.ZodType | undefined;
function policySchema(): Zod.ZodType {
  if (schema) return schema;
  const { z } = createRequire(import.meta.url)('zod') as typeof Zod;
  const actionList = z.array(z.enum(ACTION_NAMES));
  const keywords = z.array(z.string().trim().min(1)).optional();
  const approvalCount = z.int().min(1).max(5);
  const ruleSchema = z
    .strictObject({
      name: z.string().trim().min(1),
      /** Case-insensitive substrings of the alert title. */
      title: keywords,
      /** Case-insensitive substrings of the alert category (MITRE tactic, e.g. "LateralMovement"). */
      category: keywords,
      /** Case-insensitive substrings of the detector id / alert type. */
      detector: keywords,
      actions: actionList,
    })
    .refine((rule) => (rule.title?.length ?? 0) + (rule.category?.length ?? 0) + (rule.detector?.length ?? 0) > 0, {
      message: 'a rule needs at least one title, category or detector keyword',
    });
  schema = z.strictObject({
    version: z.literal(1),
    /** More target accounts than this in one alert and no one-click action is proposed (no bulk). */
    maxTargetAccounts: z.int().min(1).max(50).default(DEFAULT_MAX_TARGET_ACCOUNTS),
    approvals: z.strictObject({
      default: approvalCount,
      ...Object.fromEntries(ACTION_NAMES.map((name) => [name, approvalCount.optional()])),
    }),
    rules: z.array(ruleSchema),
    default: z.strictObject({ actions: actionList }),
  });
  return schema;
}

const DEFAULT_MAX_TARGET_ACCOUNTS = 3;

export interface PolicyRule {
  name: string;
  title?: string[];
  category?: string[];
  detector?: string[];
  actions: ActionName[];
}

export interface ActionPolicy {
  version: 1;
  maxTargetAccounts: number;
  approvals: { default: number } & Partial<Record<ActionName, number>>;
  rules: PolicyRule[];
  default: { actions: ActionName[] };
}

/**
 * Loads the action policy: the built-in default, or an operator's override file that REPLACES it
 * as a whole (a partial merge would make it hard to tell which rule proposed what). Throws
 * AppError('CONFIG_INVALID') with one sentence naming the offending key.
 */
export function loadActionPolicy(options: { file?: string } = {}): ActionPolicy {
  if (!options.file) return builtInPolicy();
  let text: string;
  try {
    text = readFileSync(options.file, 'utf8');
  } catch (cause) {
    throw new AppError('CONFIG_INVALID', `Action policy file ${options.file} cannot be read.`, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new AppError('CONFIG_INVALID', `Action policy file ${options.file} is not valid JSON.`, { cause });
  }
  return parseActionPolicy(json, options.file);
}

/** The built-in default-policy.json, as the schema reads it (test/unit/action-policy.test.ts proves they agree). */
export function builtInPolicy(): ActionPolicy {
  return structuredClone(defaultPolicyJson) as unknown as ActionPolicy;
}

export function parseActionPolicy(json: unknown, sourceName: string): ActionPolicy {
  const result = policySchema().safeParse(json);
  if (result.success) return result.data as ActionPolicy;
  const issue = result.error.issues[0];
  const path = issue ? formatPath(issue.path) : '';
  const unknownKeys = issue?.code === 'unrecognized_keys' ? issue.keys : [];
  const where = unknownKeys.length > 0 ? formatPath([...(issue?.path ?? []), unknownKeys[0] ?? '']) : path || '(root)';
  const reason = (issue?.message ?? 'invalid').replace(/\.$/, '');
  const what = unknownKeys.length > 0 ? 'is not a known key' : `is invalid (${reason.charAt(0).toLowerCase()}${reason.slice(1)})`;
  throw new AppError('CONFIG_INVALID', `Action policy ${sourceName}: '${where}' ${what}.`, {
    details: { key: where },
  });
}

/**
 * The approvals an action needs under a policy: the count the policy names for it; else the
 * catalog's default for the action (reset-password: 2), raised to the policy's `default` when
 * that is higher (a stricter policy raises every action, never lowers one it does not name).
 */
export function requiredApprovals(policy: ActionPolicy, action: ActionName): number {
  return policy.approvals[action] ?? Math.max(policy.approvals.default, ACTION_CATALOG[action].defaultApprovals);
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((text, part) => (typeof part === 'number' ? `${text}[${part}]` : text ? `${text}.${String(part)}` : String(part)), '');
}
