// The gateway's JSON API as the dashboard uses it. Same origin, no cookies:
// every call that needs authority carries a wallet signature.

export type Network = 'mainnet' | 'testnet';

export interface Info {
  network: Network;
  sip018Domain: { name: string; version: string; chainId: number };
  signatureWindowSeconds: number;
  signatureSkewSeconds: number;
  messageDomain: string | null;
  permissions: string[];
  /** "postgres", or "memory": nothing survives a restart. */
  store: 'postgres' | 'memory';
  /** "simulated": executions make no chain transaction. */
  settlement: 'stacks' | 'relayer' | 'simulated';
}

export interface Limits {
  minute: number;
  hour: number;
  day: number;
}

export interface UsageStats {
  totalRequests: number;
  successfulRequests: number;
  failedRequests: number;
  creationCount: number;
  executionCount: number;
  cancellationCount: number;
}

export interface KeyView {
  id: string;
  keyId: string;
  walletAddress: string;
  name: string;
  prefix: string;
  status: string;
  permissions: string[];
  rateLimit: number;
  rateLimits: Limits;
  ipAllowlist: string[];
  expiresAt: string | null;
  createdAt: string;
  updatedAt: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
  usageStats: UsageStats;
  /** The key this one replaced (a rotation). */
  rotatedFrom: string | null;
  /** The key that replaced this one; it works until expiresAt (the grace period) or is revoked. */
  rotatedTo: string | null;
}

export interface CreatedKey extends KeyView {
  apiKey: string;
}

export interface OrderView {
  uuid: string;
  owner: string;
  inputToken: string;
  outputToken: string;
  amountIn: string;
  targetPrice: string;
  direction: string;
  conditionToken: string;
  recipient: string;
  validFrom: string;
  validTo: string;
  status: string;
  txid: string | null;
  settlement: string | null;
  createdAt: string;
  updatedAt: string;
}

/** The order events of GET /api/v1/orders/events, each carrying the order after the change. */
export const orderEventTypes = ['created', 'executing', 'submitted', 'filled', 'cancelled', 'expired', 'failed', 'reopened'];

/** The order event stream of owner's orders; EventSource reconnects and resumes (Last-Event-ID) by itself. */
export function orderEvents(owner: string): EventSource {
  return new EventSource(`/api/v1/orders/events?${new URLSearchParams({ owner })}`);
}

export interface OrderPage {
  data: OrderView[];
  nextCursor: string | null;
}

/** A wallet-signed message as the API takes it. */
export interface Signed {
  message: string;
  signature: string;
  walletAddress: string;
  publicKey?: string;
}

/** An error answer, with the API's own words in message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly retryAfterSeconds: number | null,
    readonly details: Record<string, unknown> | null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

interface CallOptions {
  headers?: Record<string, string>;
  body?: unknown;
}

async function call<T>(method: string, path: string, opt: CallOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', ...opt.headers };
  let body: string | undefined;
  if (opt.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opt.body);
  }
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body, credentials: 'omit', cache: 'no-store' });
  } catch {
    throw new ApiError(0, 'The gateway did not answer (network error)', null, null);
  }
  const text = await res.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: reported below with the status
  }
  if (!res.ok) {
    const obj = (data ?? {}) as { error?: unknown; details?: unknown };
    const msg = typeof obj.error === 'string' ? obj.error : `HTTP ${res.status} ${res.statusText}`.trim();
    const retry = Number.parseInt(res.headers.get('Retry-After') ?? '', 10);
    const details = obj.details && typeof obj.details === 'object' ? (obj.details as Record<string, unknown>) : null;
    throw new ApiError(res.status, msg, Number.isFinite(retry) ? retry : null, details);
  }
  return data as T;
}

function signedHeaders(s: Signed): Record<string, string> {
  const h: Record<string, string> = {
    'X-Message': s.message,
    'X-Signature': s.signature,
    'X-Wallet-Address': s.walletAddress,
  };
  if (s.publicKey) h['X-Public-Key'] = s.publicKey;
  return h;
}

export const api = {
  info: () => call<Info>('GET', '/api/v1/info'),
  listKeys: (s: Signed) =>
    call<{ apiKeys: KeyView[] }>('GET', '/api/v1/api-keys', { headers: signedHeaders(s) }).then((r) => r.apiKeys),
  createKey: (s: Signed) => call<CreatedKey>('POST', '/api/v1/api-keys', { body: s }),
  updateKey: (keyId: string, s: Signed) =>
    call<KeyView>('PATCH', `/api/v1/api-keys/${encodeURIComponent(keyId)}`, { body: s }),
  rotateKey: (keyId: string, s: Signed) =>
    call<CreatedKey>('POST', `/api/v1/api-keys/${encodeURIComponent(keyId)}/rotate`, { body: s }),
  deleteKey: (keyId: string, s: Signed) =>
    call<{ message: string }>('DELETE', `/api/v1/api-keys/${encodeURIComponent(keyId)}`, { body: s }),
  listOrders: (owner: string, cursor?: string) => {
    const q = new URLSearchParams({ owner, limit: '20' });
    if (cursor) q.set('cursor', cursor);
    return call<OrderPage>('GET', `/api/v1/orders?${q}`);
  },
  cancelOrder: (uuid: string, s: Signed) =>
    call<{ status: string; data: OrderView }>('PATCH', `/api/v1/orders/${encodeURIComponent(uuid)}/cancel`, {
      headers: signedHeaders(s),
    }),
};
