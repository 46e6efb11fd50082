/**
 * JSON schemas of the Local API (spec §7.6): request bodies are validated with them (ajv,
 * no coercion, all errors reported as go-swagger does), responses are serialised through
 * fastify's compiled serializers. Property order is the Go structs' order (alphabetical,
 * as go-swagger generates them), so the bytes match what CrowdSec clients see.
 */

const str = { type: 'string' } as const;
const bool = { type: 'boolean' } as const;
const int = { type: 'integer' } as const;
const num = { type: 'number' } as const;
const nullableStr = { type: ['string', 'null'] } as const;

const metaItem = { type: 'object', properties: { key: str, value: str } } as const;
const metaList = { type: ['array', 'null'], items: metaItem } as const;

// ---- request bodies --------------------------------------------------------------------

export const watcherRegisterBody = {
  type: 'object',
  required: ['machine_id', 'password'],
  properties: { machine_id: str, password: str },
} as const;

const sourceIn = {
  type: 'object',
  required: ['scope', 'value'],
  properties: {
    as_name: str, as_number: str, cn: str, ip: str, latitude: num, longitude: num, range: str,
    scope: nullableStr, value: nullableStr,
  },
} as const;

const eventIn = {
  type: 'object',
  required: ['timestamp', 'meta'],
  properties: { meta: metaList, timestamp: nullableStr },
} as const;

const decisionIn = {
  type: 'object',
  required: ['duration', 'origin', 'scenario', 'scope', 'type', 'value'],
  properties: {
    duration: nullableStr, id: int, origin: nullableStr, scenario: nullableStr, scope: nullableStr,
    simulated: { type: ['boolean', 'null'] }, type: nullableStr, until: str, uuid: str, value: nullableStr,
  },
} as const;

export const alertIn = {
  type: 'object',
  required: ['scenario', 'scenario_hash', 'scenario_version', 'message', 'events_count', 'start_at', 'stop_at',
    'capacity', 'leakspeed', 'simulated', 'events', 'source'],
  properties: {
    capacity: { type: ['integer', 'null'] },
    created_at: str,
    decisions: { type: ['array', 'null'], items: decisionIn },
    events: { type: ['array', 'null'], items: eventIn },
    events_count: { type: ['integer', 'null'] },
    id: int,
    labels: { type: ['array', 'null'], items: str },
    leakspeed: nullableStr,
    machine_id: str,
    message: nullableStr,
    meta: metaList,
    remediation: bool,
    scenario: nullableStr,
    scenario_hash: nullableStr,
    scenario_version: nullableStr,
    simulated: { type: ['boolean', 'null'] },
    source: sourceIn,
    start_at: nullableStr,
    stop_at: nullableStr,
    uuid: str,
  },
} as const;

export const alertsPostBody = { type: 'array', items: alertIn } as const;

// ---- responses -------------------------------------------------------------------------

/** models.Decision; `id` omitted when 0, `simulated` only where the route sets it. */
export const decisionOut = {
  type: 'object',
  properties: {
    duration: str, id: int, origin: str, scenario: nullableStr, scope: str, simulated: bool,
    type: str, until: str, uuid: str, value: str,
  },
} as const;

export const decisionListOut = { type: ['array', 'null'], items: decisionOut } as const;

export const streamOut = {
  type: 'object',
  properties: { deleted: decisionListOut, new: decisionListOut },
} as const;

const sourceOut = {
  type: 'object',
  properties: {
    as_name: str, as_number: str, cn: str, ip: str, latitude: num, longitude: num, range: str,
    scope: str, value: str,
  },
} as const;

export const alertOut = {
  type: 'object',
  properties: {
    capacity: int,
    created_at: str,
    decisions: decisionListOut,
    events: { type: ['array', 'null'], items: { type: 'object', properties: { meta: { type: 'array', items: metaItem }, timestamp: str } } },
    events_count: int,
    id: int,
    labels: { type: ['array', 'null'], items: str },
    leakspeed: str,
    machine_id: str,
    message: str,
    meta: { type: 'array', items: metaItem },
    remediation: bool,
    scenario: str,
    scenario_hash: str,
    scenario_version: str,
    simulated: bool,
    source: sourceOut,
    start_at: str,
    stop_at: str,
    uuid: str,
  },
} as const;

export const alertListOut = { type: ['array', 'null'], items: alertOut } as const;

export const alertIdsOut = { type: 'array', items: str } as const;

export const loginOut = {
  type: 'object',
  properties: { code: int, expire: str, token: str },
} as const;

export const deleteOut = { type: 'object', properties: { nbDeleted: str } } as const;

export const healthOut = { type: 'object', properties: { status: str } } as const;

/** Error bodies: `{message}` or the JWT middleware's `{code, message}`. */
export const errorOut = { type: 'object', properties: { code: int, message: str } } as const;

/** Newer bouncers' usage metrics (spec §7.7): shape checked loosely, contents only counted. */
export const usageMetricsBody = {
  type: 'object',
  properties: {
    remediation_components: { type: ['array', 'null'], items: { type: 'object' } },
    log_processors: { type: ['array', 'null'], items: { type: 'object' } },
  },
} as const;
