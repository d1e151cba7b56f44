// End-to-end: the wallet dashboard in headless Chromium against a real
// gateway on PostgreSQL + Redis, with a test wallet that signs like Leather.
// It does what a wallet owner does and asserts what the page shows; the
// screenshots land in web/e2e/screenshots/.
//
// Needs /usr/bin/chromium (Debian's chromium package), go, psql, redis-cli,
// and PostgreSQL + Redis (DATABASE_URL / REDIS_URL, else the local defaults).
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

import { startGateway } from './gateway.mjs';
import { TestWallet, installWallet } from './wallet.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const shots = path.join(here, 'screenshots');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

// The stacks.js documentation key (also in shared/vectors): a test key, never funded.
const PRIVATE_KEY = '73a2f291df5a8ce3ceb668a25ac7af45639513af7596d710ddf59f64f484fd2801';
const TOKEN_IN = 'SP2ZNGJ85ENDY6QRHQ5P2D4FXKGZWCKTB2T0Z55KS.charisma-token';
const TOKEN_OUT = 'SP102V8P0F7JX67ARQ77WEA3D3CFB5XW39REDT0AM.token-wstx';
const WALLET_LIMIT = 40; // per minute: low enough that refreshing past it is quick

let gw;
let relayer;
let browser;
let context;
let page;
const wallet = new TestWallet(PRIVATE_KEY);
const pageErrors = [];

/** The txid the test relayer gives an order. */
const relayedTxID = (uuid) => '0x' + createHash('sha256').update(`e2e-relayer:${uuid}`).digest('hex');

/**
 * A settlement relayer speaking the gateway's relayer protocol (POST the
 * order, Idempotency-Key: uuid → {txid}), so executions have real-looking,
 * non-simulated txids the page links to the explorer.
 */
function startRelayer() {
  return new Promise((resolve, reject) => {
    const srv = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const uuid = req.headers['idempotency-key'];
        if (req.method !== 'POST' || !uuid || JSON.parse(body).uuid !== uuid) {
          res.writeHead(400, { 'Content-Type': 'application/json' }).end('{"error":"bad request"}');
          return;
        }
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ txid: relayedTxID(uuid) }));
      });
    });
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${srv.address().port}/settle`, close: () => srv.close() }));
  });
}

before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  await rm(shots, { recursive: true, force: true });
  await mkdir(shots, { recursive: true });
  relayer = await startRelayer();
  gw = await startGateway({
    env: {
      STXGATE_RELAYER_URL: relayer.url,
      STXGATE_WALLET_LIMIT_MINUTE: String(WALLET_LIMIT),
      STXGATE_USAGE_FLUSH_INTERVAL: '200ms',
      STXGATE_LOG_LEVEL: 'info',
    },
    logFile: path.join(shots, 'gateway.log'),
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  context = await browser.newContext({
    viewport: { width: 1280, height: 900 },
    locale: 'en-US',
    timezoneId: 'UTC',
  });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: gw.base });
  await installWallet(context, wallet);
  page = await context.newPage();
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    // The browser logs every 4xx answer; the test provokes some on purpose.
    // Anything else, a Content-Security-Policy refusal above all, fails the run.
    if (/^Failed to load resource: the server responded with a status of 4\d\d/.test(text)) return;
    pageErrors.push(text);
  });
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  await context.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI || 'inline'} ${e.sample || ''}`.trim()));
  });
});

after(async () => {
  await context?.close();
  await browser?.close();
  await gw?.stop();
  relayer?.close();
});

/** Opens the wallet chooser and connects the test wallet (installed as Leather). */
async function connectLeather() {
  await page.getByRole('button', { name: 'Connect wallet' }).click();
  const chooser = page.getByRole('dialog', { name: 'Connect a Stacks wallet' });
  await chooser.waitFor();
  await chooser.getByRole('button', { name: 'Connect Leather' }).click();
}

// ---------- helpers ----------

/** Signatures asked of the wallet so far. */
const signatures = () => wallet.signed().length;

/** The action names of the signatures made by fn, which must be exactly want. */
async function expectSignatures(want, fn) {
  const before = signatures();
  await fn();
  const got = wallet.signed().slice(before).map((m) => m.action);
  assert.deepEqual(got, want, `wallet signatures: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

async function shot(name) {
  await page.screenshot({ path: path.join(shots, name), fullPage: true });
}

async function idle() {
  await page.waitForFunction(() => !document.body.classList.contains('busy'));
}

function keyCard(name) {
  return page.locator('article.key').filter({ has: page.getByRole('heading', { name, exact: true }) });
}

async function api(method, urlPath, { key, body, headers = {} } = {}) {
  const h = { ...headers };
  if (key) h['X-API-Key'] = key;
  if (body) h['Content-Type'] = 'application/json';
  const res = await fetch(gw.base + urlPath, { method, headers: h, body: body ? JSON.stringify(body) : undefined });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}

function newOrder(uuid) {
  const now = Date.now();
  const order = {
    owner: wallet.mainnet,
    inputToken: TOKEN_IN,
    outputToken: TOKEN_OUT,
    amountIn: '1000000',
    targetPrice: '0.30',
    direction: 'gt',
    conditionToken: TOKEN_IN,
    recipient: wallet.mainnet,
    uuid,
    validFrom: new Date(now - 60_000).toISOString(),
    validTo: new Date(now + 3_600_000).toISOString(),
  };
  return { ...order, signature: wallet.signOrder(order) };
}

// ---------- the walk-through ----------

let secret;

test('wallet dashboard', async (t) => {
  await t.test('the page loads with its security headers', async () => {
    const res = await page.goto(gw.base + '/');
    assert.equal(res.status(), 200);
    const h = res.headers();
    assert.match(h['content-security-policy'], /^default-src 'self'; script-src 'self'; style-src 'self';/);
    assert.equal(h['x-frame-options'], 'DENY');
    assert.equal(h['x-content-type-options'], 'nosniff');
    assert.equal(h['referrer-policy'], 'no-referrer');
    await page.getByText('Gateway network: mainnet').waitFor();
    await page.getByRole('button', { name: 'Connect wallet' }).waitFor();
    assert.equal(await page.locator('#deployment-banner').isVisible(), false, 'PostgreSQL and a relayer: no demo banner');
  });

  await t.test('the wallet chooser: installed wallets connect, others link to their site; closing it is no error', async () => {
    for (const close of ['Escape', 'Cancel']) {
      await page.getByRole('button', { name: 'Connect wallet' }).click();
      const chooser = page.getByRole('dialog', { name: 'Connect a Stacks wallet' });
      await chooser.waitFor();
      const items = chooser.getByRole('listitem');
      assert.deepEqual(await items.allInnerTexts(), ['Leather\nConnect', 'Xverse Wallet\nInstall']);
      assert.equal(await chooser.getByRole('button', { name: 'Connect Leather' }).evaluate((el) => el === document.activeElement), true);
      const install = chooser.getByRole('link', { name: 'Install Xverse Wallet (opens its site)' });
      assert.equal(await install.getAttribute('href'), 'https://xverse.app');
      assert.equal(await install.getAttribute('rel'), 'noopener noreferrer');
      if (close === 'Escape') await page.keyboard.press('Escape');
      else await chooser.getByRole('button', { name: 'Cancel' }).click();
      await chooser.waitFor({ state: 'hidden' });
      await idle();
      assert.equal(await page.locator('#wallet-notice').isVisible(), false, `closing by ${close} shows no error`);
      assert.equal(await page.locator('#progress').innerText(), '');
      assert.equal(await page.getByRole('button', { name: 'Connect wallet' }).isEnabled(), true);
    }
    assert.deepEqual(wallet.calls, [], 'the wallet was not asked anything');
  });

  await t.test('a wallet on the other network is refused', async () => {
    wallet.network = 'testnet';
    await connectLeather();
    const notice = page.locator('#wallet-notice');
    await notice.waitFor();
    assert.equal(
      await notice.innerText(),
      `This gateway runs on mainnet, but the wallet gave a testnet address (${wallet.testnet}). ` +
        'Switch your wallet to mainnet and connect again.',
    );
    assert.equal(await page.locator('#create-section').isVisible(), false);
  });

  await t.test('connect: the address and network are shown', async () => {
    wallet.network = 'mainnet';
    await connectLeather();
    await page.locator('#wallet-address').waitFor();
    assert.equal(await page.locator('#wallet-address').innerText(), wallet.mainnet);
    assert.equal(await page.locator('#wallet-network').innerText(), 'mainnet');
    assert.equal(await page.locator('#wallet-notice').isVisible(), false);
    assert.deepEqual(
      wallet.calls.map((c) => c.method),
      ['getAddresses', 'getAddresses'],
      'connecting asks for addresses only, no signature',
    );
    await page.getByText('No orders for this wallet.').waitFor();
    await shot('01-connected.png');
  });

  await t.test('a reload keeps the connection without asking the wallet', async () => {
    const calls = wallet.calls.length;
    await page.reload();
    await page.locator('#wallet-address').waitFor();
    assert.equal(await page.locator('#wallet-address').innerText(), wallet.mainnet);
    assert.equal(wallet.calls.length, calls);
    await page.getByText('No orders for this wallet.').waitFor();
  });

  await t.test('an API error is shown as the API words it', async () => {
    await page.getByLabel('Name').first().fill('Bad allowlist');
    await page.getByText('Optional: IP allowlist and expiry').click();
    await page.getByLabel('IP allowlist').fill('not-an-ip');
    await expectSignatures(['create_api_key'], async () => {
      await page.getByRole('button', { name: 'Create key' }).click();
      await idle();
    });
    assert.equal(
      await page.locator('#create-notice').innerText(),
      'ipAllowlist entry "not-an-ip" is not an IP address or CIDR',
    );
    await page.getByLabel('IP allowlist').fill('');
  });

  await t.test('create a key: it is shown once, with a copy button and a warning', async () => {
    await page.getByLabel('Name').first().fill('E2E bot');
    await expectSignatures(['create_api_key'], async () => {
      await page.getByRole('button', { name: 'Create key' }).click();
      await page.locator('#secret-value').waitFor();
    });
    const signed = wallet.signed().at(-1);
    assert.deepEqual(Object.keys(signed), ['action', 'keyName', 'permissions', 'network', 'timestamp']);
    assert.deepEqual(signed.permissions, ['create', 'execute', 'cancel']);
    assert.equal(signed.network, 'mainnet', 'bound to the gateway network from /api/v1/info');

    secret = await page.locator('#secret-value').inputValue();
    assert.match(secret, /^ck_live_[0-9A-Za-z]{40,}$/);
    assert.equal(await page.getByRole('heading', { name: 'Your new API key “E2E bot”' }).isVisible(), true);
    assert.match(await page.locator('#secret-warning').innerText(), /^Copy it now: this is the only time it is shown\./);
    await page.getByRole('button', { name: 'Copy' }).click();
    await page.getByText('Copied to the clipboard.').waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
    await shot('02-key-shown-once.png');

    await page.getByRole('button', { name: 'I have saved it — hide the key' }).click();
    assert.equal(await page.locator('#secret-section').isVisible(), false);
    assert.equal((await page.content()).includes(secret), false, 'the key is gone from the page once hidden');
  });

  await t.test('list keys: one list signature, the key as the API describes it', async () => {
    await expectSignatures(['list_api_keys'], async () => {
      await page.getByRole('button', { name: 'Show my keys' }).click();
      await idle();
    });
    const card = keyCard('E2E bot');
    await card.waitFor();
    assert.equal(await card.locator('.badge').innerText(), 'active');
    const prefix = (await card.locator('dd code').innerText()).replace('…', '');
    assert.ok(secret.startsWith(prefix) && prefix.length >= 12, `display prefix ${prefix} is the key's start`);
    assert.equal(await card.locator('.key-perms').innerText(), 'create, execute, cancel');
    assert.match(await card.innerText(), /100\/min · 1,000\/hour · 10,000\/day/);
    assert.equal(await card.locator('.key-last-used').innerText(), 'never');
    assert.equal(await card.locator('.key-usage').innerText(), '0 requests (0 ok, 0 failed)');
    assert.equal((await page.content()).includes(secret), false, 'the list never shows the key');
  });

  await t.test('rename the key, by keyboard, with one signed update', async () => {
    const card = keyCard('E2E bot');
    await card.getByRole('button', { name: 'Edit key E2E bot' }).focus();
    await page.keyboard.press('Enter');
    const name = page.getByRole('textbox', { name: 'Name' }).nth(1);
    await name.waitFor();
    assert.equal(await name.evaluate((el) => el === document.activeElement), true, 'the name field has focus');
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type('E2E bot renamed');
    await expectSignatures(['update_api_key'], async () => {
      await page.keyboard.press('Enter');
      await keyCard('E2E bot renamed').waitFor();
      await idle();
    });
    const signed = wallet.signed().at(-1);
    assert.deepEqual(Object.keys(signed), ['action', 'keyId', 'keyName', 'network', 'timestamp'], 'only the changed field is sent');
    assert.equal(signed.keyName, 'E2E bot renamed');
    assert.equal(await page.locator('#keys-notice').innerText(), 'Key “E2E bot renamed” updated.');
    assert.equal(await keyCard('E2E bot').count(), 0);
  });

  let filled;
  let open;
  await t.test('use the key from a bot: usage appears after a refresh, with no new signature', async () => {
    const self = await api('GET', '/api/v1/api-keys/self', { key: secret });
    assert.equal(self.status, 200);
    assert.equal(self.body.name, 'E2E bot renamed');
    filled = newOrder(`e2e-filled-${randomUUID()}`);
    open = newOrder(`e2e-open-${randomUUID()}`);
    for (const o of [filled, open]) {
      const r = await api('POST', '/api/v1/orders/new', { key: secret, body: o });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    const ex = await api('POST', `/api/v1/orders/${filled.uuid}/execute`, { key: secret });
    assert.equal(ex.status, 200, JSON.stringify(ex.body));
    assert.deepEqual(ex.body, { status: 'success', txid: relayedTxID(filled.uuid), state: 'filled', settlement: 'relayer' });
    filled.txid = ex.body.txid;
    const missing = await api('POST', '/api/v1/orders/no-such-order/execute', { key: secret });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error, 'Order not found');

    const card = keyCard('E2E bot renamed');
    await expectSignatures([], async () => {
      for (let i = 0; i < 20; i++) {
        await page.getByRole('button', { name: 'Refresh keys' }).click();
        await idle();
        // Usage is batched (flushed every 200 ms here): wait for all five requests.
        if ((await card.locator('.key-usage').innerText()) === '5 requests (4 ok, 1 failed)') break;
        await page.waitForTimeout(250);
      }
    });
    assert.equal(await card.locator('.key-usage').innerText(), '5 requests (4 ok, 1 failed)');
    assert.notEqual(await card.locator('.key-last-used').innerText(), 'never');
    const chart = card.getByRole('img');
    assert.equal(
      await chart.getAttribute('aria-label'),
      'Usage of E2E bot renamed: 5 requests, 4 successful, 1 failed; 1 executions, 2 creations, 0 cancellations.',
    );
    await card.scrollIntoViewIfNeeded();
    await shot('03-key-list-usage.png');
    await card.screenshot({ path: path.join(shots, '03b-key-card.png') });
  });

  await t.test('the wallet’s orders: status and txid, cancel only for open ones', async () => {
    await page.locator('#refresh-orders').click();
    await idle();
    const filledRow = page.locator(`tr[data-uuid="${filled.uuid}"]`);
    const openRow = page.locator(`tr[data-uuid="${open.uuid}"]`);
    await filledRow.waitFor();
    assert.equal(await filledRow.locator('.badge').innerText(), 'filled');
    assert.equal(await filledRow.locator('.txid').getAttribute('title'), filled.txid);
    const link = filledRow.getByRole('link', { name: `Transaction ${filled.txid} in the Stacks explorer (mainnet, opens a new tab)` });
    assert.equal(await link.getAttribute('href'), `https://explorer.hiro.so/txid/${filled.txid}?chain=mainnet`);
    assert.equal(await link.getAttribute('target'), '_blank');
    assert.equal(await link.getAttribute('rel'), 'noopener noreferrer');
    assert.doesNotMatch(await filledRow.innerText(), /simulated/);
    assert.equal(await filledRow.getByRole('button').count(), 0);
    assert.equal(await openRow.locator('.badge').innerText(), 'open');
    assert.equal(await openRow.getByRole('button', { name: `Cancel order ${open.uuid}` }).count(), 1);
    assert.match(await openRow.innerText(), /charisma-token → token-wstx/);
  });

  await t.test('revoke the key: confirm, one signed delete, the list updates', async () => {
    const card = keyCard('E2E bot renamed');
    await card.getByRole('button', { name: 'Revoke key E2E bot renamed' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    assert.equal(await dialog.getByRole('heading').innerText(), 'Revoke “E2E bot renamed”?');
    // Keyboard: the safe choice has focus; Tab then Enter revokes.
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'confirm-cancel');
    await expectSignatures(['delete_api_key'], async () => {
      await page.keyboard.press('Tab');
      await page.keyboard.press('Enter');
      await page.locator('#keys-notice').getByText("API key 'E2E bot renamed' has been revoked").waitFor();
      await idle();
    });
    assert.equal(await card.locator('.badge').innerText(), 'revoked');
    assert.equal(await card.getByRole('button').count(), 0, 'a revoked key has no actions');
    const r = await api('GET', '/api/v1/api-keys/self', { key: secret });
    assert.equal(r.status, 401);
    assert.equal(r.body.error, 'API key inactive');
  });

  await t.test('cancel an open order with a wallet signature', async () => {
    const row = page.locator(`tr[data-uuid="${open.uuid}"]`);
    await expectSignatures(['cancel_order'], async () => {
      await row.getByRole('button', { name: `Cancel order ${open.uuid}` }).click();
      await page.locator('#orders-notice').getByText(`Order ${open.uuid} cancelled.`).waitFor();
      await idle();
    });
    const signed = wallet.signed().at(-1);
    assert.equal(signed.uuid, open.uuid);
    assert.equal(await row.locator('.badge').innerText(), 'cancelled');
    assert.equal(await row.getByRole('button').count(), 0);
    const r = await api('GET', `/api/v1/orders/${open.uuid}`);
    assert.equal(r.body.data.status, 'cancelled');
    await page.locator('#orders-section').scrollIntoViewIfNeeded();
    await shot('04-orders.png');
  });

  // Issue 18: the order table follows GET /api/v1/orders/events, no refresh needed.
  await t.test('the order table updates live when a bot creates an order', async () => {
    await page.locator('#orders-live').getByText('Live').waitFor();
    const live = newOrder(`e2e-live-${randomUUID()}`);
    const r = await api('POST', '/api/v1/orders/new', { body: live });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const row = page.locator(`tr[data-uuid="${live.uuid}"]`);
    await row.waitFor(); // arrives by the stream: nothing was clicked
    assert.equal(await row.locator('.badge').innerText(), 'open');
    assert.equal(await page.locator('tbody tr').first().getAttribute('data-uuid'), live.uuid, 'newest first');
  });

  // Issue 18: a read key made at create, then rotated from its card.
  await t.test('a read-only key, then a rotation: the new secret shown once, the old key works for its grace period', async () => {
    await page.getByLabel('Name').first().fill('E2E monitor');
    assert.equal(await page.locator('#create-perm-read').isChecked(), false, 'read is offered, not checked by default');
    for (const p of ['create', 'execute', 'cancel']) await page.locator(`#create-perm-${p}`).uncheck();
    await page.locator('#create-perm-read').check();
    await expectSignatures(['create_api_key'], async () => {
      await page.getByRole('button', { name: 'Create key' }).click();
      await page.locator('#secret-value').waitFor();
      await idle();
    });
    assert.deepEqual(wallet.signed().at(-1).permissions, ['read']);
    const oldSecret = await page.locator('#secret-value').inputValue();
    await page.getByRole('button', { name: 'I have saved it — hide the key' }).click();
    const listed = await api('GET', '/api/v1/api-keys', { key: oldSecret });
    assert.equal(listed.status, 200, 'a read key lists its wallet’s keys without a signature');
    const oldId = listed.body.apiKeys.find((k) => k.name === 'E2E monitor').keyId;
    const denied = await api('POST', '/api/v1/orders/new', { key: oldSecret, body: newOrder(`e2e-read-${randomUUID()}`) });
    assert.equal(denied.status, 403);
    assert.equal(denied.body.error, 'API key does not have the create permission');

    const card = keyCard('E2E monitor');
    await card.waitFor();
    assert.equal(await card.locator('.key-perms').innerText(), 'read');
    await card.getByRole('button', { name: 'Rotate key E2E monitor' }).click();
    const grace = page.getByLabel('Grace period for the old key');
    assert.equal(await grace.evaluate((el) => el === document.activeElement), true, 'the grace choice has focus');
    assert.equal(await grace.inputValue(), '3600', 'one hour by default');
    await expectSignatures(['rotate_api_key'], async () => {
      await page.getByRole('button', { name: 'Rotate key', exact: true }).click();
      await page.locator('#secret-value').waitFor();
      await idle();
    });
    const signed = wallet.signed().at(-1);
    assert.deepEqual(Object.keys(signed), ['action', 'keyId', 'graceSeconds', 'network', 'timestamp']);
    assert.equal(signed.keyId, oldId);
    assert.equal(signed.graceSeconds, 3600);
    const newSecret = await page.locator('#secret-value').inputValue();
    assert.match(newSecret, /^ck_live_[0-9A-Za-z]{40,}$/);
    assert.notEqual(newSecret, oldSecret);
    assert.equal(await page.getByRole('heading', { name: 'Your new API key “E2E monitor”' }).isVisible(), true);
    assert.match(await page.locator('#secret-replaces').innerText(), /^It replaces key ck_live_[0-9A-Za-z]{8}…, which keeps working until .+\.$/);
    await shot('06-key-rotated.png');
    await page.getByRole('button', { name: 'I have saved it — hide the key' }).click();
    assert.equal((await page.content()).includes(newSecret), false, 'the new key is gone from the page once hidden');

    // Both keys work during the grace period; the old one names its successor.
    const oldSelf = await api('GET', '/api/v1/api-keys/self', { key: oldSecret });
    const newSelf = await api('GET', '/api/v1/api-keys/self', { key: newSecret });
    assert.equal(oldSelf.status, 200);
    assert.equal(newSelf.status, 200);
    assert.equal(oldSelf.body.rotatedTo, newSelf.body.keyId);
    assert.equal(newSelf.body.rotatedFrom, oldId);
    assert.ok(oldSelf.body.expiresAt, 'the old key shows the end of its grace period');

    const oldCard = page.locator(`article.key[data-key-id="${oldId}"]`);
    const newCard = page.locator(`article.key[data-key-id="${newSelf.body.keyId}"]`);
    await newCard.waitFor();
    assert.match(await oldCard.locator('.key-rotated-to').innerText(), /^ck_live_[0-9A-Za-z]{8}… \(E2E monitor\)$/);
    assert.match(await newCard.locator('.key-rotated-from').innerText(), /^ck_live_[0-9A-Za-z]{8}… \(E2E monitor\)$/);
    assert.equal(await oldCard.getByRole('button', { name: 'Rotate key E2E monitor' }).count(), 0, 'a rotated key is not rotated again');
    assert.equal(await newCard.getByRole('button', { name: 'Rotate key E2E monitor' }).count(), 1);
    assert.match(await oldCard.innerText(), /Expires/);
  });

  await t.test('every control has a label', async () => {
    const unlabelled = await page.evaluate(() =>
      [...document.querySelectorAll('input, textarea, select, button')]
        .filter((el) => el.offsetParent !== null)
        .filter((el) => {
          const name = el.getAttribute('aria-label') || (el.labels && [...el.labels].map((l) => l.textContent).join(''));
          return !(name && name.trim()) && !(el.tagName === 'BUTTON' && el.textContent.trim());
        })
        .map((el) => el.outerHTML.slice(0, 80)),
    );
    assert.deepEqual(unlabelled, []);
  });

  await t.test('phone width: no sideways scrolling', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.evaluate(() => window.scrollTo(0, 0));
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the phone screen`);
    await shot('05-phone.png');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  // Issue 13: a re-used (already verified) read signature counts once against the wallet's
  // budget, so refreshing past the wallet limit with it is never refused.
  await t.test('a reused list signature never uses up the wallet rate limit', async () => {
    let text = '';
    await expectSignatures([], async () => {
      for (let i = 0; i < WALLET_LIMIT + 5; i++) {
        await page.getByRole('button', { name: 'Refresh keys' }).click();
        await idle();
        const notice = page.locator('#keys-notice');
        if (await notice.isVisible()) {
          text = await notice.innerText();
          break;
        }
      }
    });
    assert.equal(text, '');
  });

  await t.test('no script or CSP errors on the page', async () => {
    assert.deepEqual(await page.evaluate(() => window.__cspViolations), []);
    assert.deepEqual(pageErrors, []);
  });
});

test('a gateway on its embedded defaults: the page says so, and simulated txids are marked, not linked', async () => {
  const demo = await startGateway({ memory: true, logFile: path.join(shots, 'gateway-memory.log') });
  const demoPage = await context.newPage();
  const errors = [];
  demoPage.on('console', (msg) => msg.type() === 'error' && errors.push(msg.text()));
  demoPage.on('pageerror', (err) => errors.push(String(err)));
  try {
    const uuid = `e2e-sim-${randomUUID()}`;
    const post = async (p, body, headers = {}) => {
      const res = await fetch(demo.base + p, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
      return { status: res.status, body: await res.json() };
    };
    const order = newOrder(uuid);
    assert.equal((await post('/api/v1/orders/new', order)).status, 201);
    const msg = JSON.stringify({ action: 'execute_order', uuid, timestamp: Date.now() });
    const ex = await fetch(`${demo.base}/api/v1/orders/${uuid}/execute`, {
      method: 'POST',
      headers: { 'X-Message': msg, 'X-Signature': wallet.signMessage(msg), 'X-Wallet-Address': wallet.mainnet },
    });
    const exBody = await ex.json();
    assert.equal(ex.status, 200, JSON.stringify(exBody));
    assert.equal(exBody.settlement, 'simulated');
    assert.equal(exBody.state, 'filled');

    await demoPage.goto(demo.base + '/');
    const banner = demoPage.locator('#deployment-banner');
    await banner.waitFor();
    assert.equal(
      await banner.innerText(),
      'Demo gateway. This gateway runs on the in-memory store: keys and orders are lost when the gateway restarts, ' +
        'and on the simulated settlement: executions make no chain transaction and their txids are fake.',
    );
    assert.equal(await banner.getAttribute('role'), 'note');
    await demoPage.getByRole('button', { name: 'Connect wallet' }).click();
    await demoPage.getByRole('dialog', { name: 'Connect a Stacks wallet' }).getByRole('button', { name: 'Connect Leather' }).click();
    const row = demoPage.locator(`tr[data-uuid="${uuid}"]`);
    await row.waitFor({ timeout: 10000 }).catch(async (err) => {
      await demoPage.screenshot({ path: path.join(shots, '07-demo-failed.png'), fullPage: true });
      throw new Error(`${err.message}\npage: ${await demoPage.locator('main').innerText()}\nerrors: ${errors}`);
    });
    assert.match(await row.innerText(), /\(simulated\)/);
    assert.equal(await row.getByRole('link').count(), 0, 'a simulated txid is not linked to an explorer');
    await demoPage.screenshot({ path: path.join(shots, '07-demo-gateway.png'), fullPage: true });
    assert.deepEqual(await demoPage.evaluate(() => window.__cspViolations), []);
    assert.deepEqual(errors, []);
  } finally {
    await demoPage.close();
    await demo.stop();
  }
});
