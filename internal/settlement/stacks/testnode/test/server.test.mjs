// The test node driven by transactions that @stacks/transactions builds, as a
// wallet or a JavaScript executor would.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Cl, Pc, PostConditionMode, makeContractCall, makeSTXTokenTransfer, privateKeyToAddress } from "@stacks/transactions";

const here = dirname(fileURLToPath(import.meta.url));
const DEPLOYER_KEY = "753b7cc01a1a2e86221266a154af739463fce51219d97e4f856cd7200c3bd2a601";
const SENDER_KEY = "73a2f291df5a8ce3ceb668a25ac7af45639513af7596d710ddf59f64f484fd2801";
const SENDER = privateKeyToAddress(SENDER_KEY, "testnet");
const RECIPIENT = "ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG";

let node, url, deployer, token;

before(async () => {
  node = spawn(process.execPath, ["server.mjs", "--port", "0", "--block-interval-ms", "0"], { cwd: join(here, ".."), stdio: ["ignore", "pipe", "inherit"] });
  // The ready line is the first JSON line; simnet may print before it.
  for await (const line of createInterface({ input: node.stdout })) {
    if (line.startsWith("{\"url\"")) {
      ({ url, deployer } = JSON.parse(line));
      break;
    }
  }
  node.stdout.resume();
  token = `${deployer}.token-a`;
  await control("/control/fund", { address: SENDER, amount: "1000000" });
  await control("/control/call", { contract: token, function: "mint", sender: deployer, args: ["0x" + Cl.serialize(Cl.uint(500)), "0x" + Cl.serialize(Cl.principal(SENDER))] });
});

after(() => node?.kill());

async function control(path, body) {
  const r = await fetch(url + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  assert.equal(r.status, 200, await r.clone().text());
  return r.json();
}

async function broadcast(tx) {
  const r = await fetch(url + "/v2/transactions", { method: "POST", headers: { "content-type": "application/octet-stream" }, body: tx.serializeBytes() });
  return [r.status, await r.json()];
}

async function status(txid) {
  return (await fetch(`${url}/extended/v1/tx/0x${txid}`)).json();
}

function transfer(nonce, amount, postConditions, mode = PostConditionMode.Deny) {
  return makeContractCall({
    contractAddress: deployer, contractName: "token-a", functionName: "transfer",
    functionArgs: [Cl.uint(amount), Cl.principal(SENDER), Cl.principal(RECIPIENT), Cl.none()],
    senderKey: SENDER_KEY, network: "testnet", nonce, fee: 1000, postConditionMode: mode, postConditions,
  });
}

test("a makeContractCall transaction is mined with its post-conditions checked", async () => {
  const ok = await transfer(0, 100, [Pc.origin().willSendEq(100).ft(token, "token")]);
  assert.deepEqual(await broadcast(ok), [200, ok.txid()]);
  // Deny mode without a post-condition for the transfer: aborted, and undone.
  const bare = await transfer(1, 50, []);
  assert.deepEqual(await broadcast(bare), [200, bare.txid()]);
  // Allow mode moves freely; a failed condition aborts even so.
  const wrong = await transfer(2, 7, [Pc.principal(SENDER).willSendLte(6).ft(token, "token")], PostConditionMode.Allow);
  assert.deepEqual(await broadcast(wrong), [200, wrong.txid()]);
  const free = await transfer(3, 20, [], PostConditionMode.Allow);
  assert.deepEqual(await broadcast(free), [200, free.txid()]);
  assert.equal((await control("/control/mine", {})).mined, 4);

  const got = Object.fromEntries(await Promise.all([ok, bare, wrong, free].map(async (t) => [t.txid(), await status(t.txid())])));
  assert.equal(got[ok.txid()].tx_status, "success");
  assert.equal(got[ok.txid()].tx_result.repr, "(ok true)");
  assert.deepEqual(got[ok.txid()].post_conditions, [{ type: "ft-postcondition", address: "origin", condition: "eq", amount: "100", asset: `${token}::token` }]);
  assert.equal(got[bare.txid()].tx_status, "abort_by_post_condition");
  assert.equal(got[bare.txid()].post_condition_failure, `deny mode: ${SENDER} sent ${token}::token without a post-condition`);
  assert.equal(got[wrong.txid()].tx_status, "abort_by_post_condition");
  assert.equal(got[wrong.txid()].post_condition_failure, `${SENDER} sent 7 ${token}::token, post-condition wants lte 6`);
  assert.equal(got[free.txid()].tx_status, "success");
  const balance = await (await fetch(`${url}/control/balance/${RECIPIENT}`)).json();
  assert.equal(balance[`${token}::token`], "120");
  const nonces = await (await fetch(`${url}/extended/v1/address/${SENDER}/nonces`)).json();
  assert.deepEqual(nonces, { last_mempool_tx_nonce: null, last_executed_tx_nonce: 3, possible_next_nonce: 4, detected_missing_nonces: [], detected_mempool_nonces: [] });
  // Every transaction paid its fee, aborted or not.
  const stx = await (await fetch(`${url}/control/balance/${SENDER}`)).json();
  assert.equal(stx.STX, "996000");
});

test("an STX transfer is rejected without funds and accepted with them", async () => {
  const stranger = "0000000000000000000000000000000000000000000000000000000000000002" + "01";
  const t = await makeSTXTokenTransfer({ recipient: RECIPIENT, amount: 5, senderKey: stranger, network: "testnet", nonce: 0, fee: 300 });
  const [code, body] = await broadcast(t);
  assert.equal(code, 400);
  assert.deepEqual(body, { error: "transaction rejected", reason: "NotEnoughFunds", txid: t.txid(),
    reason_data: { expected: "0x00000000000000000000000000000131", actual: "0x00000000000000000000000000000000" } });
  await control("/control/fund", { address: privateKeyToAddress(stranger, "testnet"), amount: "305" });
  assert.deepEqual(await broadcast(t), [200, t.txid()]);
  await control("/control/mine", {});
  const s = await status(t.txid());
  assert.equal(s.tx_status, "success");
  assert.equal(s.token_transfer.amount, "5");
});

test("a mainnet transaction and a bad body are refused", async () => {
  const t = await makeSTXTokenTransfer({ recipient: "SP3FBR2AGK5H9QBDH3EEN6DF8EK8JY7RX8QJ5SVTE", amount: 5, senderKey: SENDER_KEY, network: "mainnet", nonce: 4, fee: 300 });
  assert.deepEqual(await broadcast(t), [400, { error: "transaction rejected", reason: "BadTransactionVersion", txid: t.txid() }]);
  const r = await fetch(url + "/v2/transactions", { method: "POST", headers: { "content-type": "application/octet-stream" }, body: new Uint8Array([0, 1, 2]) });
  assert.equal(r.status, 400);
  const body = await r.json();
  assert.equal(body.reason, "Deserialization");
});
