// The wallet dashboard: connect a Stacks wallet, then manage the wallet's API
// keys and orders. Every change is one wallet signature over the exact JSON
// message the API verifies; a list_api_keys signature is reused while it is
// inside the gateway's signature window.
import { ApiError, api, orderEventTypes, orderEvents, type Info, type KeyView, type OrderView, type Signed } from './api';
import { usageChart } from './chart';
import { byId, h, middle, num, time } from './dom';
import {
  type Account,
  addressNetwork,
  connectWallet,
  forgetWallet,
  isWalletCancel,
  rememberedAccount,
  signMessage,
  walletChoices,
  walletErrorText,
} from './wallet';

const PERMISSIONS = ['create', 'execute', 'cancel', 'read'] as const;
/** What a new key may do unless the person changes it: trade, not just watch. */
const DEFAULT_PERMISSIONS = ['create', 'execute', 'cancel'] as const;
const PERMISSION_HELP: Record<string, string> = {
  create: 'submit new orders signed by this wallet',
  execute: 'execute this wallet’s open orders',
  cancel: 'cancel this wallet’s open orders',
  read: 'list this wallet’s keys and read its audit trail, without a signature (alone: a monitoring key)',
};

/** Grace periods offered for the old key of a rotation, in seconds. */
const GRACE_CHOICES: [number, string][] = [
  [0, 'none: revoke the old key at once'],
  [300, '5 minutes'],
  [3600, '1 hour'],
  [21600, '6 hours'],
  [86400, '24 hours'],
];

let info: Info;
let account: Account | null = null;
let keys: KeyView[] = [];
let keysLoaded = false;
let listSig: { signed: Signed; at: number } | null = null;
let orders: OrderView[] = [];
let ordersCursor: string | null = null;
let orderStream: EventSource | null = null; // live updates of the order table
let orderStreamRetry: number | undefined;
const changedOrders = new Set<string>(); // rows to flash once
let busy = false;

/** A problem explained to the person in the page's own words. */
class Problem extends Error {}

// ---------- messages to the person ----------

type Area = 'wallet' | 'create' | 'keys' | 'orders';

function notice(area: Area, text: string, kind: 'error' | 'ok' = 'error'): void {
  const el = byId(`${area}-notice`);
  el.className = `notice notice-${kind}`;
  el.replaceChildren(h('span', {}, text));
  el.hidden = false;
  el.setAttribute('role', kind === 'error' ? 'alert' : 'status');
}

function clearNotice(area: Area): void {
  const el = byId(`${area}-notice`);
  el.hidden = true;
  el.replaceChildren();
}

/** An error in the API's own words; a 429 also says when to retry. */
function errorText(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 429 && err.retryAfterSeconds !== null) {
      const at = new Date(Date.now() + err.retryAfterSeconds * 1000).toLocaleTimeString();
      return `${err.message}. Try again in ${err.retryAfterSeconds} s (at ${at}).`;
    }
    return err.message;
  }
  if (err instanceof Problem) return err.message;
  return walletErrorText(err);
}

function progress(text: string): void {
  byId('progress').textContent = text;
}

/** Runs one user action: one at a time, buttons disabled, errors shown in area. */
async function action(area: Area, fn: () => Promise<void>): Promise<void> {
  if (busy) return;
  busy = true;
  document.body.classList.add('busy');
  for (const b of document.querySelectorAll<HTMLButtonElement>('main button')) b.disabled = true;
  clearNotice(area);
  try {
    await fn();
  } catch (err) {
    notice(area, errorText(err));
  } finally {
    busy = false;
    document.body.classList.remove('busy');
    for (const b of document.querySelectorAll<HTMLButtonElement>('main button')) b.disabled = false;
    progress('');
  }
}

// ---------- signing ----------

/**
 * Signs {"action":..., ...fields, "network":..., "domain"?:..., "timestamp":ms}
 * with the connected wallet. network and domain come from /api/v1/info and bind
 * the signature to this gateway: another network or deployment refuses it.
 */
async function sign(actionName: string, fields: Record<string, unknown>): Promise<Signed> {
  if (!account) throw new Problem('Connect a wallet first.');
  const msg: Record<string, unknown> = { action: actionName, ...fields };
  msg.network = info.network;
  if (info.messageDomain) msg.domain = info.messageDomain;
  msg.timestamp = Date.now();
  const message = JSON.stringify(msg);
  progress('Waiting for your wallet to sign…');
  const sig = await signMessage(message);
  progress('Sending…');
  return { message, signature: sig.signature, walletAddress: account.address, publicKey: sig.publicKey };
}

/** How long a list signature is reused: the window less a 30 s margin. */
function listReuseMs(): number {
  return Math.max(0, (info.signatureWindowSeconds - 30) * 1000);
}

function listSigValid(): boolean {
  return !!listSig && listSig.signed.walletAddress === account?.address && Date.now() - listSig.at < listReuseMs();
}

async function listSignature(): Promise<Signed> {
  if (listSig && listSigValid()) return listSig.signed;
  const signed = await sign('list_api_keys', {});
  listSig = { signed, at: (JSON.parse(signed.message) as { timestamp: number }).timestamp };
  return signed;
}

async function fetchKeys(): Promise<void> {
  try {
    keys = await api.listKeys(await listSignature());
  } catch (err) {
    // A reused signature the gateway now finds stale: sign once more.
    if (err instanceof ApiError && err.status === 401 && listSig && /expired|future/i.test(err.message)) {
      listSig = null;
      keys = await api.listKeys(await listSignature());
    } else {
      throw err;
    }
  }
  keysLoaded = true;
  renderKeys();
}

// ---------- wallet ----------

function renderWallet(): void {
  const box = byId('wallet-box');
  const signedIn = !!account;
  document.body.classList.toggle('connected', signedIn);
  for (const id of ['create-section', 'keys-section', 'orders-section']) byId(id).hidden = !signedIn;
  if (!account) {
    box.replaceChildren(
      h('p', {}, 'Connect Leather, Xverse or another Stacks wallet. The dashboard never sees your private key: ',
        'every change is a message your wallet signs.'),
      h('button', { type: 'button', id: 'connect', class: 'primary', onclick: () => void onConnect() }, 'Connect wallet'),
    );
    return;
  }
  box.replaceChildren(
    h('dl', { class: 'facts wallet-facts' },
      h('div', {}, h('dt', {}, 'Address'), h('dd', {}, h('code', { id: 'wallet-address', class: 'addr' }, account.address))),
      h('div', {}, h('dt', {}, 'Network'), h('dd', { id: 'wallet-network' }, addressNetwork(account.address) ?? 'unknown')),
    ),
    h('button', { type: 'button', id: 'disconnect', onclick: onDisconnect }, 'Disconnect'),
  );
}

/**
 * The wallet chooser: installed wallets connect, the others link to their
 * site. Resolves with the chosen wallet's id, or null when it is closed
 * (Escape, Cancel): not choosing is not an error.
 */
function chooseWallet(): Promise<string | null> {
  const dlg = byId<HTMLDialogElement>('wallet-chooser');
  const choices = walletChoices();
  const list = byId('wallet-list');
  list.replaceChildren(...choices.map((w) =>
    h('li', { class: 'wallet-choice' },
      h('span', { class: 'wallet-name' }, w.name),
      w.installed
        ? h('button', { type: 'submit', value: w.id, class: 'primary', 'aria-label': `Connect ${w.name}` }, 'Connect')
        : w.webUrl
          ? h('a', { href: w.webUrl, target: '_blank', rel: 'noopener noreferrer', 'aria-label': `Install ${w.name} (opens its site)` }, 'Install')
          : null,
    ),
  ));
  byId('wallet-none').hidden = choices.some((w) => w.installed);
  dlg.returnValue = '';
  dlg.showModal();
  const first = list.querySelector<HTMLButtonElement>('button') ?? byId<HTMLButtonElement>('chooser-cancel');
  first.focus();
  return new Promise((resolve) => {
    dlg.addEventListener('close', () => {
      const id = dlg.returnValue;
      resolve(id && id !== 'cancel' ? id : null);
    }, { once: true });
  });
}

async function onConnect(): Promise<void> {
  await action('wallet', async () => {
    progress('Choose a wallet…');
    const id = await chooseWallet();
    if (!id) return; // closed without choosing: nothing to report
    progress('Waiting for your wallet…');
    let acct: Account;
    try {
      acct = await connectWallet(id, info.network);
    } catch (err) {
      if (isWalletCancel(err)) return; // declined in the wallet: not an error either
      throw err;
    }
    const net = addressNetwork(acct.address);
    if (net !== info.network) {
      forgetWallet();
      throw new Problem(
        `This gateway runs on ${info.network}, but the wallet gave a ${net ?? 'unknown'} address (${acct.address}). ` +
          `Switch your wallet to ${info.network} and connect again.`,
      );
    }
    setAccount(acct);
  });
  if (account) await action('orders', () => loadOrders(false)); // after connect's action: one action at a time
}

function setAccount(acct: Account | null): void {
  account = acct;
  keys = [];
  keysLoaded = false;
  listSig = null;
  orders = [];
  ordersCursor = null;
  watchOrders();
  byId('secret-section').hidden = true;
  renderWallet();
  renderKeys();
  renderOrders();
}

function onDisconnect(): void {
  forgetWallet();
  setAccount(null);
  clearNotice('wallet');
  byId<HTMLButtonElement>('connect').focus();
}

// ---------- create ----------

function permissionBoxes(prefix: string, checked: readonly string[]): HTMLElement {
  return h('fieldset', { class: 'perms' },
    h('legend', {}, 'Permissions'),
    PERMISSIONS.map((p) =>
      h('label', { class: 'check' },
        h('input', { type: 'checkbox', name: 'permissions', value: p, id: `${prefix}-perm-${p}`, checked: checked.includes(p) }),
        h('span', {}, h('strong', {}, p), ` — ${PERMISSION_HELP[p]}`),
      ),
    ),
  );
}

function checkedPermissions(form: HTMLElement): string[] {
  return [...form.querySelectorAll<HTMLInputElement>('input[name=permissions]:checked')].map((i) => i.value);
}

function parseAllowlist(text: string): string[] {
  return text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
}

function buildCreateForm(): void {
  const form = byId<HTMLFormElement>('create-form');
  form.replaceChildren(
    h('div', { class: 'field' },
      h('label', { for: 'key-name' }, 'Name'),
      h('input', { id: 'key-name', name: 'keyName', required: true, maxlength: 100, autocomplete: 'off', placeholder: 'e.g. Trading bot' }),
    ),
    permissionBoxes('create', DEFAULT_PERMISSIONS),
    h('details', { class: 'more' },
      h('summary', {}, 'Optional: IP allowlist and expiry'),
      h('div', { class: 'field' },
        h('label', { for: 'key-ips' }, 'IP allowlist'),
        h('textarea', { id: 'key-ips', rows: 2, 'aria-describedby': 'key-ips-help', spellcheck: 'false' }),
        h('p', { id: 'key-ips-help', class: 'help' }, 'IP addresses or CIDR ranges, separated by spaces, commas or lines. Empty: any address.'),
      ),
      h('div', { class: 'field' },
        h('label', { for: 'key-expiry' }, 'Expires'),
        h('input', { id: 'key-expiry', type: 'datetime-local', 'aria-describedby': 'key-expiry-help' }),
        h('p', { id: 'key-expiry-help', class: 'help' }, 'Your local time. Empty: the key does not expire.'),
      ),
    ),
    h('button', { type: 'submit', class: 'primary', id: 'create-key' }, 'Create key'),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void onCreate(form);
  });
}

async function onCreate(form: HTMLFormElement): Promise<void> {
  await action('create', async () => {
    const name = byId<HTMLInputElement>('key-name').value.trim();
    const perms = checkedPermissions(form);
    if (!name) throw new Problem('Give the key a name.');
    if (perms.length === 0) throw new Problem('Choose at least one permission.');
    const fields: Record<string, unknown> = { keyName: name, permissions: perms };
    const ips = parseAllowlist(byId<HTMLTextAreaElement>('key-ips').value);
    if (ips.length) fields.ipAllowlist = ips;
    const expiry = byId<HTMLInputElement>('key-expiry').value;
    if (expiry) {
      const d = new Date(expiry);
      if (Number.isNaN(d.getTime())) throw new Problem('The expiry is not a valid date.');
      fields.expiresAt = d.toISOString();
    }
    const created = await api.createKey(await sign('create_api_key', fields));
    const { apiKey, ...view } = created;
    upsertKey(view);
    form.reset();
    showSecret(view.name, apiKey);
  });
}

function showSecret(name: string, secret: string, replaced?: (Node | string)[]): void {
  const sec = byId('secret-section');
  const input = h('input', { id: 'secret-value', readonly: true, value: secret, spellcheck: 'false', autocomplete: 'off', 'aria-describedby': 'secret-warning' });
  const status = h('p', { id: 'copy-status', class: 'help', role: 'status' });
  const copy = h('button', { type: 'button', id: 'copy-secret', class: 'primary' }, 'Copy');
  copy.addEventListener('click', () => {
    void copyText(input).then((ok) => {
      status.textContent = ok ? 'Copied to the clipboard.' : 'Could not copy: select the key and copy it by hand.';
    });
  });
  sec.replaceChildren(
    h('h2', { id: 'secret-h' }, `Your new API key “${name}”`),
    h('p', { id: 'secret-warning', class: 'warn' },
      h('strong', {}, 'Copy it now: this is the only time it is shown. '),
      'stxgate keeps only a hash of it and cannot show it again. Anyone holding it can act on your orders within its permissions.'),
    ...(replaced ? [h('p', { id: 'secret-replaces', class: 'help' }, ...replaced)] : []),
    h('label', { for: 'secret-value' }, 'API key'),
    h('div', { class: 'copyrow' }, input, copy),
    status,
    h('button', { type: 'button', id: 'secret-done', onclick: hideSecret }, 'I have saved it — hide the key'),
  );
  sec.hidden = false;
  input.focus();
  input.select();
}

function hideSecret(): void {
  const sec = byId('secret-section');
  sec.replaceChildren();
  sec.hidden = true;
  byId<HTMLInputElement>('key-name').focus();
}

async function copyText(input: HTMLInputElement): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(input.value);
    return true;
  } catch {
    input.select();
    try {
      return document.execCommand('copy');
    } catch {
      return false;
    }
  }
}

// ---------- keys ----------

/** Puts a key the API just returned into the list, if the list is shown. */
function upsertKey(k: KeyView): void {
  if (!keysLoaded) return; // a partial list would mislead: "Show my keys" lists them all
  const i = keys.findIndex((x) => x.id === k.id);
  if (i >= 0) keys[i] = k;
  else keys.unshift(k);
  renderKeys();
}

function limitsText(k: KeyView): string {
  const l = k.rateLimits;
  return `${num(l.minute)}/min · ${num(l.hour)}/hour · ${num(l.day)}/day`;
}

function renderKeys(): void {
  const list = byId('keys-list');
  const load = byId<HTMLButtonElement>('load-keys');
  load.textContent = keysLoaded ? 'Refresh keys' : 'Show my keys';
  byId('keys-help').textContent = keysLoaded
    ? listSigValid()
      ? 'Refreshing reuses your last list signature while it is valid.'
      : 'Refreshing asks your wallet to sign a list request.'
    : 'Listing keys asks your wallet to sign a list request (reused for a few minutes).';
  if (!keysLoaded) {
    list.replaceChildren();
    return;
  }
  if (keys.length === 0) {
    list.replaceChildren(h('p', { class: 'empty' }, 'This wallet has no API keys yet.'));
    return;
  }
  const sorted = [...keys].sort((a, b) => Number(a.status !== 'active') - Number(b.status !== 'active'));
  list.replaceChildren(...sorted.map(keyCard));
}

function keyCard(k: KeyView): HTMLElement {
  const active = k.status === 'active';
  const nameId = `key-${k.id}-name`;
  const card = h('article', { class: `key ${active ? '' : 'inactive'}`, 'aria-labelledby': nameId, 'data-key-id': k.id },
    h('header', { class: 'key-head' },
      h('h3', { id: nameId, class: 'key-name' }, k.name),
      h('span', { class: `badge status-${k.status}` }, k.status),
    ),
    h('div', { class: 'key-body' },
      h('dl', { class: 'facts' },
        h('div', {}, h('dt', {}, 'Key'), h('dd', {}, h('code', {}, `${k.prefix}…`))),
        h('div', {}, h('dt', {}, 'Permissions'), h('dd', { class: 'key-perms' }, k.permissions.join(', '))),
        h('div', {}, h('dt', {}, 'Limits'), h('dd', {}, limitsText(k))),
        h('div', {}, h('dt', {}, 'Created'), h('dd', {}, time(k.createdAt))),
        h('div', {}, h('dt', {}, 'Last used'), h('dd', { class: 'key-last-used' }, time(k.lastUsedAt))),
        h('div', {}, h('dt', {}, 'IP allowlist'), h('dd', {}, k.ipAllowlist.length ? k.ipAllowlist.join(', ') : 'any address')),
        k.expiresAt ? h('div', {}, h('dt', {}, 'Expires'), h('dd', {}, time(k.expiresAt))) : null,
        k.revokedAt ? h('div', {}, h('dt', {}, 'Revoked'), h('dd', {}, time(k.revokedAt))) : null,
        k.rotatedTo ? h('div', {}, h('dt', {}, 'Replaced by'), h('dd', { class: 'key-rotated-to' }, keyLabel(k.rotatedTo))) : null,
        k.rotatedFrom ? h('div', {}, h('dt', {}, 'Replaces'), h('dd', { class: 'key-rotated-from' }, keyLabel(k.rotatedFrom))) : null,
        h('div', {}, h('dt', {}, 'Usage'), h('dd', { class: 'key-usage' },
          `${num(k.usageStats.totalRequests)} requests (${num(k.usageStats.successfulRequests)} ok, ${num(k.usageStats.failedRequests)} failed)`)),
      ),
      usageChart(k.usageStats, k.name),
    ),
  );
  if (active) {
    const edit = h('div', { class: 'edit', hidden: true });
    const rotate = h('div', { class: 'edit rotate', hidden: true });
    card.append(
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'edit-key', 'aria-label': `Edit key ${k.name}`, 'aria-expanded': 'false',
          onclick: (ev: Event) => toggleEdit(k, edit, ev.currentTarget as HTMLButtonElement) }, 'Edit'),
        // A key rotated before is on its way out: its successor is the one to rotate.
        k.rotatedTo ? null : h('button', { type: 'button', class: 'rotate-key', 'aria-label': `Rotate key ${k.name}`, 'aria-expanded': 'false',
          onclick: (ev: Event) => toggleRotate(k, rotate, ev.currentTarget as HTMLButtonElement) }, 'Rotate'),
        h('button', { type: 'button', class: 'danger revoke-key', 'aria-label': `Revoke key ${k.name}`, onclick: () => void onRevoke(k) }, 'Revoke'),
      ),
      edit,
      rotate,
    );
  }
  return card;
}

/** A key named by its display prefix when it is listed, else by its id. */
function keyLabel(id: string): string {
  const k = keys.find((x) => x.id === id);
  return k ? `${k.prefix}… (${k.name})` : id;
}

function toggleRotate(k: KeyView, box: HTMLElement, btn: HTMLButtonElement): void {
  if (!box.hidden) {
    box.hidden = true;
    btn.setAttribute('aria-expanded', 'false');
    return;
  }
  const p = `rotate-${k.id}`;
  const form = h('form', { class: 'stack', 'aria-label': `Rotate key ${k.name}` },
    h('p', { class: 'help' },
      'Rotation gives this key a new secret with the same name, permissions, limits, allowlist and expiry. ',
      'Bots keep working with the old key during the grace period; then it stops working on every gateway.'),
    h('div', { class: 'field' },
      h('label', { for: `${p}-grace` }, 'Grace period for the old key'),
      h('select', { id: `${p}-grace`, name: 'graceSeconds' },
        GRACE_CHOICES.map(([secs, text]) => h('option', { value: String(secs), selected: secs === 3600 }, text))),
    ),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary confirm-rotate' }, 'Rotate key'),
      h('button', { type: 'button', onclick: () => toggleRotate(k, box, btn) }, 'Cancel'),
    ),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void onRotate(k, Number(byId<HTMLSelectElement>(`${p}-grace`).value));
  });
  box.replaceChildren(form);
  box.hidden = false;
  btn.setAttribute('aria-expanded', 'true');
  byId<HTMLSelectElement>(`${p}-grace`).focus();
}

async function onRotate(k: KeyView, graceSeconds: number): Promise<void> {
  await action('keys', async () => {
    const created = await api.rotateKey(k.id, await sign('rotate_api_key', { keyId: k.id, graceSeconds }));
    const { apiKey, ...view } = created;
    // The old key's end: the grace period, unless its own expiry comes first.
    const graceEnd = new Date(Date.now() + graceSeconds * 1000).toISOString();
    const end = k.expiresAt && k.expiresAt < graceEnd ? k.expiresAt : graceEnd;
    // The old key as the gateway now has it; a valid list signature reads it back exactly.
    upsertKey(graceSeconds === 0
      ? { ...k, status: 'revoked', revokedAt: new Date().toISOString(), rotatedTo: view.id }
      : { ...k, expiresAt: end, rotatedTo: view.id });
    upsertKey(view);
    if (listSigValid()) await fetchKeys();
    showSecret(view.name, apiKey, graceSeconds === 0
      ? [`It replaces key ${k.prefix}…, which is revoked.`]
      : [`It replaces key ${k.prefix}…, which keeps working until `, time(end), '.']);
  });
}

function toggleEdit(k: KeyView, box: HTMLElement, btn: HTMLButtonElement): void {
  if (!box.hidden) {
    box.hidden = true;
    btn.setAttribute('aria-expanded', 'false');
    return;
  }
  const p = `edit-${k.id}`;
  const form = h('form', { class: 'stack', 'aria-label': `Edit key ${k.name}` },
    h('div', { class: 'field' },
      h('label', { for: `${p}-name` }, 'Name'),
      h('input', { id: `${p}-name`, name: 'keyName', value: k.name, required: true, maxlength: 100, autocomplete: 'off' }),
    ),
    permissionBoxes(p, k.permissions),
    h('div', { class: 'field' },
      h('label', { for: `${p}-ips` }, 'IP allowlist'),
      h('textarea', { id: `${p}-ips`, rows: 2, spellcheck: 'false' }, k.ipAllowlist.join('\n')),
    ),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary save-key' }, 'Save changes'),
      h('button', { type: 'button', onclick: () => toggleEdit(k, box, btn) }, 'Cancel'),
    ),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void onUpdate(k, form, p);
  });
  box.replaceChildren(form);
  box.hidden = false;
  btn.setAttribute('aria-expanded', 'true');
  byId<HTMLInputElement>(`${p}-name`).focus();
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

async function onUpdate(k: KeyView, form: HTMLFormElement, p: string): Promise<void> {
  await action('keys', async () => {
    const fields: Record<string, unknown> = { keyId: k.id };
    const name = byId<HTMLInputElement>(`${p}-name`).value.trim();
    const perms = checkedPermissions(form);
    const ips = parseAllowlist(byId<HTMLTextAreaElement>(`${p}-ips`).value);
    if (!name) throw new Problem('Give the key a name.');
    if (perms.length === 0) throw new Problem('Choose at least one permission.');
    if (name !== k.name) fields.keyName = name;
    if (!sameSet(perms, k.permissions)) fields.permissions = perms;
    if (!sameSet(ips, k.ipAllowlist)) fields.ipAllowlist = ips;
    if (Object.keys(fields).length === 1) throw new Problem('Nothing to change.');
    const updated = await api.updateKey(k.id, await sign('update_api_key', fields));
    upsertKey(updated);
    notice('keys', `Key “${updated.name}” updated.`, 'ok');
  });
}

async function onRevoke(k: KeyView): Promise<void> {
  if (!(await confirmDialog(`Revoke “${k.name}”?`,
    'Bots using this key stop working at once, on every gateway. This cannot be undone.', 'Revoke key'))) return;
  await action('keys', async () => {
    const res = await api.deleteKey(k.id, await sign('delete_api_key', { keyId: k.id }));
    upsertKey({ ...k, status: 'revoked', revokedAt: new Date().toISOString() });
    notice('keys', res.message, 'ok');
    if (listSigValid()) await fetchKeys();
  });
  byId('keys-h').focus();
}

function confirmDialog(title: string, text: string, ok: string): Promise<boolean> {
  const dlg = byId<HTMLDialogElement>('confirm');
  byId('confirm-title').textContent = title;
  byId('confirm-text').textContent = text;
  byId('confirm-ok').textContent = ok;
  dlg.returnValue = '';
  dlg.showModal();
  byId<HTMLButtonElement>('confirm-cancel').focus();
  return new Promise((resolve) => {
    dlg.addEventListener('close', () => resolve(dlg.returnValue === 'ok'), { once: true });
  });
}

// ---------- orders ----------

function tokenName(principal: string): string {
  const dot = principal.indexOf('.');
  return dot >= 0 ? principal.slice(dot + 1) : middle(principal, 5);
}

async function loadOrders(more: boolean): Promise<void> {
  if (!account) return;
  const page = await api.listOrders(account.address, more ? (ordersCursor ?? undefined) : undefined);
  orders = more ? [...orders, ...page.data] : page.data;
  ordersCursor = page.nextCursor;
  renderOrders();
}

/**
 * Follows the wallet's order events so the table changes as the orders do,
 * on whichever gateway instance or bot changed them. The stream opens before
 * the table loads, so no change falls between the two; an event never moves
 * an order back to an older state than the one shown.
 */
function watchOrders(): void {
  orderStream?.close();
  orderStream = null;
  window.clearTimeout(orderStreamRetry);
  const live = byId('orders-live');
  live.hidden = !account;
  if (!account) return;
  const es = orderEvents(account.address);
  orderStream = es;
  const show = (on: boolean, text: string) => {
    live.className = `live ${on ? 'on' : 'off'}`;
    live.textContent = text;
  };
  show(false, 'Connecting…');
  es.onopen = () => show(true, 'Live');
  es.onerror = () => {
    if (es !== orderStream) return;
    show(false, 'Reconnecting…');
    if (es.readyState === EventSource.CLOSED) { // refused (too many streams, shutting down): try again later
      orderStreamRetry = window.setTimeout(watchOrders, 10_000);
    }
  };
  for (const t of orderEventTypes) {
    es.addEventListener(`order.${t}`, (e) => {
      if (es === orderStream) applyOrderEvent(JSON.parse((e as MessageEvent<string>).data) as OrderView);
    });
  }
}

function applyOrderEvent(o: OrderView): void {
  if (!account || o.owner !== account.address) return;
  const i = orders.findIndex((x) => x.uuid === o.uuid);
  if (i >= 0) {
    if (o.updatedAt < orders[i].updatedAt) return; // the table already shows a later change
    orders = orders.map((x, j) => (j === i ? o : x));
  } else {
    const oldest = orders[orders.length - 1];
    if (ordersCursor && oldest && o.createdAt < oldest.createdAt) return; // on a page not loaded yet
    orders = [...orders, o].sort((a, b) => (b.createdAt > a.createdAt ? 1 : b.createdAt < a.createdAt ? -1 : b.uuid > a.uuid ? 1 : -1));
  }
  changedOrders.add(o.uuid);
  renderOrders();
}

function renderOrders(): void {
  const box = byId('orders-list');
  byId('more-orders').hidden = !ordersCursor;
  if (!account) {
    box.replaceChildren();
    return;
  }
  if (orders.length === 0) {
    box.replaceChildren(h('p', { class: 'empty' }, 'No orders for this wallet.'));
    return;
  }
  const head = ['Order', 'Pair', 'Amount in', 'Condition', 'Status', 'Transaction', 'Valid until', ''];
  box.replaceChildren(
    h('table', { class: 'orders' },
      h('caption', { class: 'sr-only' }, 'Orders of this wallet, newest first'),
      h('thead', {}, h('tr', {}, head.map((t) => h('th', { scope: 'col' }, t || h('span', { class: 'sr-only' }, 'Actions'))))),
      h('tbody', {}, orders.map(orderRow)),
    ),
  );
}

function orderRow(o: OrderView): HTMLElement {
  const cells: [string, Node | string][] = [
    ['Order', h('code', { title: o.uuid }, middle(o.uuid, 8))],
    ['Pair', h('span', { title: `${o.inputToken} → ${o.outputToken}` }, `${tokenName(o.inputToken)} → ${tokenName(o.outputToken)}`)],
    ['Amount in', o.amountIn],
    ['Condition', `price ${o.direction === 'gt' ? '>' : '<'} ${o.targetPrice}`],
    ['Status', h('span', { class: `badge status-${o.status}` }, o.status)],
    ['Transaction', txCell(o)],
    ['Valid until', time(o.validTo)],
  ];
  const actionCell = o.status === 'open'
    ? h('button', { type: 'button', class: 'danger cancel-order', 'aria-label': `Cancel order ${o.uuid}`, onclick: () => void onCancelOrder(o) }, 'Cancel')
    : '';
  const changed = changedOrders.delete(o.uuid);
  return h('tr', { 'data-uuid': o.uuid, 'data-status': o.status, class: changed ? 'changed' : '' },
    cells.map(([label, v]) => h('td', { 'data-label': label }, v)),
    h('td', { class: 'row-actions' }, actionCell),
  );
}

/**
 * The txid, linked to the Stacks explorer of the gateway's network. A
 * simulated settlement's txid is not on any chain: it is marked, not linked.
 */
function txCell(o: OrderView): Node | string {
  if (!o.txid) return '—';
  const code = h('code', { title: o.txid, class: 'txid' }, middle(o.txid, 6));
  if (o.settlement === 'simulated') {
    return h('span', { title: 'Simulated settlement: no chain transaction was made' }, code, ' (simulated)');
  }
  const href = `https://explorer.hiro.so/txid/${encodeURIComponent(o.txid)}?chain=${info.network}`;
  return h('a', { href, target: '_blank', rel: 'noopener noreferrer', class: 'tx-link',
    'aria-label': `Transaction ${o.txid} in the Stacks explorer (${info.network}, opens a new tab)` }, code);
}

async function onCancelOrder(o: OrderView): Promise<void> {
  await action('orders', async () => {
    const res = await api.cancelOrder(o.uuid, await sign('cancel_order', { uuid: o.uuid }));
    orders = orders.map((x) => (x.uuid === o.uuid ? res.data : x));
    renderOrders();
    notice('orders', `Order ${o.uuid} cancelled.`, 'ok');
  });
}

// ---------- start ----------

/** Warns while the gateway runs on its embedded defaults: nothing it shows is durable or on chain. */
function renderDeploymentBanner(): void {
  const parts: string[] = [];
  if (info.store === 'memory') {
    parts.push('the in-memory store: keys and orders are lost when the gateway restarts');
  }
  if (info.settlement === 'simulated') {
    parts.push('the simulated settlement: executions make no chain transaction and their txids are fake');
  }
  const banner = byId('deployment-banner');
  banner.hidden = parts.length === 0;
  banner.replaceChildren(...(parts.length
    ? [h('strong', {}, 'Demo gateway. '), `This gateway runs on ${parts.join(', and on ')}.`]
    : []));
}

function wire(): void {
  byId('load-keys').addEventListener('click', () => void action('keys', fetchKeys));
  byId('refresh-orders').addEventListener('click', () => void action('orders', () => loadOrders(false)));
  byId('more-orders').addEventListener('click', () => void action('orders', () => loadOrders(true)));
  buildCreateForm();
}

async function start(): Promise<void> {
  wire();
  try {
    info = await api.info();
  } catch (err) {
    notice('wallet', `Could not read the gateway's settings: ${errorText(err)}`);
    return;
  }
  byId('gateway-network').textContent = `Gateway network: ${info.network}`;
  renderDeploymentBanner();
  const remembered = rememberedAccount(info.network);
  setAccount(remembered && addressNetwork(remembered.address) === info.network ? remembered : null);
  if (account) void action('orders', () => loadOrders(false));
  document.body.classList.add('ready');
}

void start();
