// The JSON schemas of every body, path parameter and query the API accepts (DESIGN.md §3).
// Unknown fields are rejected everywhere. The rules mirror src/ipam/validate.ts, which checks the
// decoded command again inside apply(): the schema answers early and names the field, apply()
// keeps the state safe whatever reaches the log. Rules that need the state (overlaps, prefix
// against subnet length, duplicates) are apply()'s alone.

import { ipamLimits } from '../ipam/index.js';
import { firstError, newAjv, valueAt } from './formats.js';
import { ApiError } from './errors.js';
import { apiLimits } from './limits.js';

type Schema = Record<string, unknown>;

/** Visible ASCII except "/": ids are one URL path segment (src/ipam/validate.ts idPattern). */
const id: Schema = { type: 'string', minLength: 1, maxLength: ipamLimits.idCharsMax, pattern: '^[\\x21-\\x2e\\x30-\\x7e]+$' };
/** Task ids may hold `/` (CNI keys tasks by `CNI_CONTAINERID/CNI_IFNAME`); clients percent-encode it. */
const taskIdSchema: Schema = { type: 'string', minLength: 1, maxLength: ipamLimits.idCharsMax, pattern: '^[\\x21-\\x7e]+$' };
const text = (max: number): Schema => ({ type: 'string', minLength: 1, maxLength: max, pattern: '^[^\\x00-\\x1f\\x7f]+$' });
const networkName: Schema = {
  type: 'string',
  minLength: 1,
  maxLength: ipamLimits.networkNameCharsMax,
  pattern: '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$',
  not: { enum: ['host', 'bridge', 'default', 'none'] },
};
const port: Schema = { type: 'integer', minimum: 1, maximum: 65535 };
const nodeIdSchema: Schema = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$' };
const hostPort: Schema = { type: 'string', format: 'hostport' };
const boolText: Schema = { enum: ['true', 'false'] };

const object = (properties: Record<string, Schema>, required: string[] = []): Schema => ({
  type: 'object',
  additionalProperties: false,
  properties,
  required,
});

export const bodies = {
  createNetwork: {
    ...object(
      {
        name: networkName,
        subnet: { type: 'string', format: 'cidr4' },
        prefix: { type: 'integer', minimum: 0, maximum: 32 },
        subnet6: { type: 'string', format: 'cidr6' },
        prefix6: { type: 'integer', minimum: 0, maximum: 128 },
        split: { enum: ['halves', 'shared'] },
        enabled: { type: 'boolean' },
      },
      ['name'],
    ),
    dependencies: { subnet: ['prefix'], prefix: ['subnet'], subnet6: ['prefix6'], prefix6: ['subnet6'] },
  },
  patchNetwork: object({ enabled: { type: 'boolean' } }, ['enabled']),
  registerAgent: object({ ip: { type: 'string', format: 'ipv4' }, ip6: { type: 'string', format: 'ipv6' } }, ['ip']),
  allocateTask: object(
    {
      name: text(ipamLimits.nameCharsMax),
      framework: text(ipamLimits.nameCharsMax),
      agent: id,
      network: networkName,
      containerizer: { enum: ['mesos', 'docker'] },
      ports: {
        type: 'array',
        maxItems: ipamLimits.portsPerTaskMax,
        items: object(
          { name: text(ipamLimits.portNameCharsMax), protocol: { enum: ['tcp', 'udp'] }, containerPort: port, hostPort: port },
          ['protocol', 'containerPort'],
        ),
      },
      labels: {
        type: 'object',
        maxProperties: ipamLimits.labelsPerTaskMax,
        propertyNames: { minLength: 1, maxLength: ipamLimits.labelKeyCharsMax, pattern: '^[^\\x00-\\x1f\\x7f]+$' },
        additionalProperties: { type: 'string', maxLength: ipamLimits.labelValueCharsMax },
      },
    },
    ['name', 'framework', 'agent'],
  ),
  addMember: object({ id: nodeIdSchema, raft: hostPort, http: hostPort, dns: hostPort, role: { enum: ['voter', 'learner'] } }, ['id', 'raft', 'http', 'dns']),
  transferLeadership: object({ to: nodeIdSchema }, ['to']),
} as const;

export const params = {
  none: object({}),
  network: object({ name: networkName }, ['name']),
  id: object({ id }, ['id']),
  taskId: object({ id: taskIdSchema }, ['id']),
  member: object({ id: nodeIdSchema }, ['id']),
} as const;

export const queries = {
  none: object({}),
  read: object({ consistent: boolText }),
  force: object({ force: boolText }),
  tasks: object({
    agent: id,
    network: networkName,
    framework: text(ipamLimits.nameCharsMax),
    consistent: boolText,
    limit: { type: 'string', pattern: '^[0-9]{1,6}$' },
  }),
} as const;

export type BodySchema = keyof typeof bodies;
export type ParamsSchema = keyof typeof params;
export type QuerySchema = keyof typeof queries;

const ajv = newAjv();
type Validate = ReturnType<typeof ajv.compile>;
const compileAll = <K extends string>(s: Readonly<Record<K, Schema>>): Record<K, Validate> =>
  Object.fromEntries(Object.entries<Schema>(s).map(([k, v]) => [k, ajv.compile(v)])) as Record<K, Validate>;
const bodyValidators = compileAll(bodies);
const paramValidators = compileAll(params);
const queryValidators = compileAll(queries);

/** Where an offending field lives, for the `field` of a 400: body JSON pointer, `?query`, `{param}`. */
type Place = 'body' | 'query' | 'path';

function check(validate: Validate, value: unknown, place: Place): void {
  if (validate(value)) return;
  const { field, problem } = firstError(validate.errors);
  const got = valueAt(value, field);
  const gotText = got === undefined ? '' : `, got ${truncate(JSON.stringify(got))}`;
  const name = field.slice(1);
  const label = place === 'body' ? field : place === 'query' ? `?${name}` : `{${name}}`;
  const where = place === 'body' ? (field === '' ? 'the body' : field) : label;
  throw new ApiError('invalid', `${where} ${problem}${gotText}`, { field: label });
}

function truncate(s: string | undefined): string {
  if (s === undefined) return 'nothing';
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

export function checkBody(schema: BodySchema, body: unknown): void {
  check(bodyValidators[schema], body, 'body');
}
export function checkParams(schema: ParamsSchema, p: Readonly<Record<string, string>>): void {
  check(paramValidators[schema], p, 'path');
}
export function checkQuery(schema: QuerySchema, q: Readonly<Record<string, string>>): void {
  check(queryValidators[schema], q, 'query');
}

/** `?limit=N` for task lists, bounded by tasksPerListMax. */
export function listLimit(q: Readonly<Record<string, string>>): number {
  const raw = q['limit'];
  if (raw === undefined) return apiLimits.tasksPerListDefault;
  const n = Number(raw);
  if (n < 1 || n > apiLimits.tasksPerListMax) {
    throw new ApiError('invalid', `?limit must be 1..${apiLimits.tasksPerListMax}, got ${raw}`, { field: '?limit' });
  }
  return n;
}
