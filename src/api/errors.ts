/**
 * The Local API's error bodies and status codes (spec §7.1, §14), in one catalogue.
 *
 *   body                                   used for
 *   {"message": "..."}                     handlers' errors (404, 403, 400, 500, ...)
 *   {"code": <status>, "message": "..."}   the JWT middleware and login (401, 403)
 *
 * Storage errors map as CrowdSec maps them: not found 404, "user already exist" 403, hash
 * error 400, everything else (invalid filter, invalid ip/range, bad duration, schema
 * validation) 500.
 */
import { StoreError } from '../decisions/records.js';
import { CredentialError } from './credentials.js';

export type ErrorBody = { message: string } | { code: number; message: string };

export class ApiError extends Error {
  constructor(readonly status: number, readonly body: ErrorBody) {
    super(body.message);
    this.name = 'ApiError';
  }
}

export const messageError = (status: number, message: string) => new ApiError(status, { message });
export const jwtError = (status: number, message: string) => new ApiError(status, { code: status, message });

export const Errors = {
  forbidden: () => messageError(403, 'access forbidden'),
  forbiddenIp: (ip: string) => messageError(403, `access forbidden from this IP (${ip})`),
  exists: (id: string) => messageError(403, `user '${id}': user already exist`),
  noToken: () => jwtError(401, 'cookie token is empty'),
  badCredentials: () => jwtError(401, 'incorrect Username or Password'),
  missingCredentials: () => jwtError(401, 'missing Username or Password'),
  notValidated: (id: string) => jwtError(401, `machine ${id} not validated`),
  permission: () => jwtError(403, "you don't have permission to access this resource"),
  badAlertId: () => messageError(400, 'alert_id must be valid integer'),
  badDecisionId: () => messageError(400, 'decision_id must be valid integer'),
  tooLarge: (limit: number) => messageError(413, `request body is too large (limit ${limit} bytes)`),
  /** go-swagger's validation summary: one line per failing field. */
  validation: (lines: string[]) => messageError(500, `validation failure list:\n${lines.join('\n')}`),
} as const;

/** Maps an error from the store, the credentials table or a handler to an ApiError. */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof StoreError) {
    if (e.code === 'NOT_FOUND') return messageError(404, e.reason);
    return messageError(500, e.reason);
  }
  if (e instanceof CredentialError) {
    if (e.code === 'EXISTS') return messageError(403, e.message);
    if (e.code === 'NOT_FOUND') return messageError(404, e.message);
    return messageError(400, e.message);
  }
  return messageError(500, e instanceof Error ? e.message : String(e));
}
