// A test Stacks node: the stacks-node and Hiro API endpoints an executor uses,
// in front of a clarinet simnet chain with the contracts of a Clarinet
// project. Test code only: it trusts its control API and keeps everything in
// memory. README.md beside it documents the endpoints and the control API.
//
//   node server.mjs [--port 0] [--manifest ../../../../contracts/Clarinet.toml]
//                   [--block-interval-ms 1000] [--chain-limit 25] [--min-fee-rate 1]
//
// Prints one JSON line on stdout when ready: {"url":"http://127.0.0.1:PORT","deployer":"ST…"}.
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { initSimnet } from "@stacks/clarinet-sdk";
import {
  AddressHashMode, AuthType, PayloadType, PostConditionMode, addressFromVersionHash, addressHashModeToVersion,
  addressToString, cvToString, deserializeCV, deserializeTransaction, serializeCV, wireToPostCondition,
} from "@stacks/transactions";

const here = dirname(fileURLToPath(import.meta.url));
const { values: opts } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    manifest: { type: "string", default: join(here, "..", "..", "..", "..", "contracts", "Clarinet.toml") },
    "block-interval-ms": { type: "string", default: "1000" },
    "chain-limit": { type: "string", default: "25" },
    "min-fee-rate": { type: "string", default: "1" },
  },
});

const TESTNET_CHAIN_ID = 0x80000000;
const TESTNET_TX_VERSION = 0x80;
const MINER = "ST000000000000000000002AMW42H"; // fees go to the boot address, as if to a miner
// simnet writes a deployment plan into the project: each node works on its own
// copy, so that nodes (and the contract tests) can start side by side.
const projectDir = mkdtempSync(join(tmpdir(), "stxgate-testnode-"));
for (const part of ["Clarinet.toml", "settings", "contracts"]) {
  cpSync(join(dirname(resolve(opts.manifest)), part), join(projectDir, part), { recursive: true });
}
process.on("exit", () => rmSync(projectDir, { recursive: true, force: true }));
const manifest = join(projectDir, "Clarinet.toml");

// --- chain state ---------------------------------------------------------------

let simnet = await initSimnet(manifest);
const deployer = simnet.deployer;
const journal = []; // every state change applied to simnet, to rebuild it without one transaction
const txs = new Map(); // txid (hex, no 0x) -> record
const nextNonce = new Map(); // sender -> next nonce the chain expects
let lastBlock = { height: simnet.blockHeight, time: Number(simnet.getBlockTime()), hash: blockHash(simnet.blockHeight) };
const rejectedBy = {}; // rejection reason -> count
const counters = { accepted: 0, rejected: 0, dropped: 0, mined: 0, success: 0, abortByResponse: 0, abortByPostCondition: 0, rebuilds: 0, unavailable: 0 };

const faults = {
  rejectNext: [], // [{count, reason, reasonData}] consumed first to last
  unavailableNext: 0, // the next n broadcasts get a 503 and never reach the mempool (a lost request)
  rejectFraction: 0, // each otherwise acceptable broadcast is refused with this probability
  rejectReason: "ServerFailureOther",
  dropFraction: 0, // each accepted transaction is silently dropped with this probability
  delayMs: 0, // answer a broadcast this much later (after it entered the mempool)
  chainLimit: Number(opts["chain-limit"]),
  minFeeRate: Number(opts["min-fee-rate"]), // µSTX per byte
  feeRates: [1, 2, 4], // µSTX per byte for the low, middle and high estimate
  feeEstimateUnavailable: false,
  blockIntervalMs: Number(opts["block-interval-ms"]), // 0: blocks only through POST /control/mine
  paused: false,
  seed: 1,
};

// Deterministic randomness for the fraction faults (mulberry32).
let rngState = faults.seed >>> 0;
function random() {
  rngState = (rngState + 0x6d2b79f5) >>> 0;
  let t = rngState;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

function blockHash(height) {
  return "0x" + height.toString(16).padStart(64, "0");
}

function stxBalance(address) {
  return simnet.getAssetsMap().get("STX")?.get(address) ?? 0n;
}

function expectedNonce(sender) {
  return nextNonce.get(sender) ?? 0;
}

function pendingOf(sender) {
  return [...txs.values()].filter((r) => r.sender === sender && r.status === "pending");
}

// Every simnet mutation goes through apply, so that rebuild can replay them.
function apply(op) {
  const res = run(op);
  journal.push(op);
  return res;
}

function run(op) {
  switch (op.kind) {
    case "call": return simnet.callPublicFn(op.contract, op.fn, op.args, op.sender);
    case "transfer": return simnet.transferSTX(op.amount, op.recipient, op.sender);
    case "mint-stx": return simnet.mintSTX(op.recipient, op.amount);
    case "empty": return simnet.mineEmptyStacksBlocks(op.count);
  }
  throw new Error(`unknown op ${op.kind}`);
}

// The deployed contracts' interfaces, read once: simnet builds them anew on
// every getContractsInterfaces call (about 50 ms, most of what a broadcast
// cost the node), and no contract is deployed after the start.
let interfaces = null;
function contractInterface(id) {
  interfaces ??= simnet.getContractsInterfaces();
  return interfaces.get(id);
}

// rebuild starts simnet afresh and replays the journal: how a transaction
// whose post-conditions failed is taken back (simnet cannot roll back).
async function rebuild() {
  counters.rebuilds++;
  simnet = await initSimnet(manifest);
  interfaces = null;
  for (const op of journal) run(op);
}

// Serialises everything that touches simnet.
let chainLock = Promise.resolve();
function withChain(fn) {
  const next = chainLock.then(fn, fn);
  chainLock = next.catch(() => {});
  return next;
}

// --- decoding ----------------------------------------------------------------------

function senderOf(tx) {
  const sc = tx.auth.spendingCondition;
  return addressToString(addressFromVersionHash(addressHashModeToVersion(sc.hashMode, "testnet"), sc.signer));
}

function contractOf(payload) {
  return `${addressToString(payload.contractAddress)}.${payload.contractName.content}`;
}

function hexOf(cv) {
  return "0x" + serializeCV(cv);
}

const txTypes = { [PayloadType.ContractCall]: "contract_call", [PayloadType.TokenTransfer]: "token_transfer" };

function rejection(txid, reason, reasonData) {
  const body = { error: "transaction rejected", reason, txid };
  if (reasonData !== undefined) body.reason_data = reasonData;
  return body;
}

function u128Hex(n) {
  return "0x" + BigInt(n).toString(16).padStart(32, "0");
}

// admit answers a broadcast: [status, body]. Checks in the order stacks-node's
// mempool does: decode, version, signature, nonce, chaining, fee, conflicts,
// funds, then the call's target.
function admit(bytes) {
  let tx;
  try {
    tx = deserializeTransaction(bytes);
  } catch (e) {
    return [400, rejection("", "Deserialization", { message: String(e.message ?? e) })];
  }
  const txid = tx.txid();
  if (faults.rejectNext.length > 0) {
    const f = faults.rejectNext[0];
    if (--f.count <= 0) faults.rejectNext.shift();
    return [400, rejection(txid, f.reason, f.reasonData)];
  }
  if (tx.chainId !== TESTNET_CHAIN_ID || tx.transactionVersion !== TESTNET_TX_VERSION) {
    return [400, rejection(txid, "BadTransactionVersion")];
  }
  if (tx.auth.authType !== AuthType.Standard) {
    return [400, rejection(txid, "ServerFailureOther", { message: "the test node takes no sponsored transactions" })];
  }
  const sc = tx.auth.spendingCondition;
  if (sc.hashMode !== AddressHashMode.P2PKH && sc.hashMode !== AddressHashMode.P2WPKH) {
    return [400, rejection(txid, "ServerFailureOther", { message: "the test node takes single-signature transactions only" })];
  }
  try {
    tx.verifyOrigin();
  } catch (e) {
    return [400, rejection(txid, "SignatureValidation", { message: String(e.message ?? e) })];
  }
  const sender = senderOf(tx);
  const nonce = Number(sc.nonce);
  const fee = sc.fee;
  const known = txs.get(txid);
  if (known?.status === "pending") return [200, txid]; // the same bytes again: already in the mempool
  const expected = expectedNonce(sender);
  if (nonce < expected) {
    return [400, rejection(txid, "BadNonce", { expected, actual: nonce, principal: sender, is_origin: true })];
  }
  if (nonce >= expected + faults.chainLimit) {
    return [400, rejection(txid, "TooMuchChaining", {
      message: "Nonce would exceed chaining limit in mempool", expected: expected + faults.chainLimit - 1,
      actual: nonce, principal: sender, is_origin: true,
    })];
  }
  const minFee = BigInt(bytes.length * faults.minFeeRate);
  if (fee < minFee) return [400, rejection(txid, "FeeTooLow", { expected: Number(minFee), actual: Number(fee) })];
  const conflict = pendingOf(sender).find((r) => r.nonce === nonce);
  if (conflict && fee <= conflict.fee) return [400, rejection(txid, "ConflictingNonceInMempool")];
  let spend = fee;
  if (tx.payload.payloadType === PayloadType.TokenTransfer) spend += tx.payload.amount;
  const balance = stxBalance(sender);
  if (balance < spend) return [400, rejection(txid, "NotEnoughFunds", { expected: u128Hex(spend), actual: u128Hex(balance) })];
  if (tx.payload.payloadType === PayloadType.ContractCall) {
    const iface = contractInterface(contractOf(tx.payload));
    if (!iface) return [400, rejection(txid, "NoSuchContract")];
    const fn = iface.functions.find((f) => f.name === tx.payload.functionName.content && f.access === "public");
    if (!fn) return [400, rejection(txid, "NoSuchPublicFunction")];
    if (fn.args.length !== tx.payload.functionArgs.length) {
      return [400, rejection(txid, "BadFunctionArgument", {
        message: `IncorrectArgumentCount(${fn.args.length}, ${tx.payload.functionArgs.length})`,
      })];
    }
  } else if (tx.payload.payloadType !== PayloadType.TokenTransfer) {
    return [400, rejection(txid, "ServerFailureOther", { message: "the test node takes contract calls and STX transfers only" })];
  }
  if (faults.rejectFraction > 0 && random() < faults.rejectFraction) {
    return [400, rejection(txid, faults.rejectReason)];
  }
  if (conflict) conflict.status = "dropped_replace_by_fee";
  txs.set(txid, {
    txid, tx, bytes, sender, nonce, fee, status: "pending", receiptTime: Math.floor(Date.now() / 1000),
    dropAtNextBlock: faults.dropFraction > 0 && random() < faults.dropFraction,
  });
  return [200, txid];
}

// --- post-conditions ------------------------------------------------------------

// What each principal sent of each asset, from the call's asset events.
function sentByPrincipal(events) {
  const sent = new Map(); // `${principal}|${asset}` -> amount (bigint) or, for NFTs, Set of value hex
  const add = (who, asset, amount) => {
    const k = `${who}|${asset}`;
    sent.set(k, (sent.get(k) ?? 0n) + BigInt(amount));
  };
  for (const e of events) {
    const d = e.data;
    switch (e.event) {
      case "stx_transfer_event": case "stx_burn_event": add(d.sender, "STX", d.amount); break;
      case "ft_transfer_event": case "ft_burn_event": add(d.sender, d.asset_identifier, d.amount); break;
      case "nft_transfer_event": case "nft_burn_event": {
        const k = `${d.sender}|${d.asset_identifier}`;
        if (!sent.has(k)) sent.set(k, new Set());
        sent.get(k).add(d.raw_value);
        break;
      }
    }
  }
  return sent;
}

function compare(condition, sent, amount) {
  switch (condition) {
    case "eq": return sent === amount;
    case "gt": return sent > amount;
    case "gte": return sent >= amount;
    case "lt": return sent < amount;
    case "lte": return sent <= amount;
  }
  return false;
}

// checkPostConditions returns why the transaction's post-conditions fail on
// these events, or "" when they hold.
function checkPostConditions(tx, sender, events) {
  const sent = sentByPrincipal(events);
  const covered = new Set();
  for (const wire of tx.postConditions.values) {
    const pc = wireToPostCondition(wire);
    const who = pc.address === "origin" ? sender : pc.address;
    if (pc.type === "nft-postcondition") {
      const k = `${who}|${pc.asset}`;
      covered.add(k);
      const ids = sent.get(k) ?? new Set();
      const id = hexOf(pc.assetId);
      const moved = ids.has(id) || ids.has(id.slice(2));
      if (pc.condition === "sent" && !moved) return `${who} did not send ${pc.asset} ${cvToString(pc.assetId)}`;
      if (pc.condition === "not-sent" && moved) return `${who} sent ${pc.asset} ${cvToString(pc.assetId)}`;
      continue;
    }
    const asset = pc.type === "stx-postcondition" ? "STX" : pc.asset;
    const k = `${who}|${asset}`;
    covered.add(k);
    const amount = sent.get(k) ?? 0n;
    if (!compare(pc.condition, amount, BigInt(pc.amount))) {
      return `${who} sent ${amount} ${asset}, post-condition wants ${pc.condition} ${pc.amount}`;
    }
  }
  if (tx.postConditionMode === PostConditionMode.Deny) {
    for (const [k, v] of sent) {
      const moved = v instanceof Set ? v.size > 0 : v > 0n;
      if (moved && !covered.has(k)) {
        const [who, asset] = k.split("|");
        return `deny mode: ${who} sent ${asset} without a post-condition`;
      }
    }
  }
  return "";
}

// --- mining --------------------------------------------------------------------

// The chain's clock never lags the wall clock: orders signed "valid from
// now" must be executable. simnet adds 10 s per Stacks block.
function catchUpClock() {
  const lag = Math.floor(Date.now() / 1000) - Number(simnet.getBlockTime());
  if (lag > 0) apply({ kind: "empty", count: Math.ceil(lag / 10) });
}

function hiroEvents(events, txid) {
  return events.map((e, i) => {
    const d = e.data;
    const base = { event_index: i, tx_id: "0x" + txid };
    switch (e.event) {
      case "stx_transfer_event":
        return { ...base, event_type: "stx_asset", asset: { asset_event_type: "transfer", sender: d.sender, recipient: d.recipient, amount: String(d.amount) } };
      case "ft_transfer_event": case "ft_mint_event": case "ft_burn_event":
        return { ...base, event_type: "fungible_token_asset", asset: {
          asset_event_type: e.event.split("_")[1], asset_id: d.asset_identifier, sender: d.sender ?? "", recipient: d.recipient ?? "", amount: String(d.amount) } };
      case "print_event":
        return { ...base, event_type: "smart_contract_log", contract_log: {
          contract_id: d.contract_identifier, topic: d.topic, value: { hex: "0x" + d.raw_value.replace(/^0x/, ""), repr: cvToString(deserializeCV(d.raw_value.replace(/^0x/, ""))) } } };
      default:
        return { ...base, event_type: e.event, data: d };
    }
  });
}

// executeOne runs a mempool transaction in simnet as its sender and settles
// its outcome, fee and nonce like a miner would.
async function executeOne(r) {
  const p = r.tx.payload;
  const op = p.payloadType === PayloadType.ContractCall
    ? { kind: "call", contract: contractOf(p), fn: p.functionName.content, args: p.functionArgs, sender: r.sender }
    : { kind: "transfer", amount: p.amount, recipient: cvToString(p.recipient), sender: r.sender };
  const mark = journal.length;
  const height = simnet.blockHeight + 1; // simnet mines the call in a new block: its stacks-block-height
  let res;
  try {
    res = apply(op);
  } catch (e) {
    // A runtime error: the chain includes the transaction as failed.
    journal.length = mark;
    res = null;
    r.error = String(e.message ?? e);
  }
  let status;
  let result = res ? res.result : { type: "err", value: { type: "none" } };
  if (p.payloadType === PayloadType.TokenTransfer && res) result = { type: "ok", value: { type: "true" } };
  if (!res) status = "abort_by_response";
  else if (res.result.type === "err") status = "abort_by_response";
  else if (p.payloadType === PayloadType.TokenTransfer) status = "success"; // stacks-core checks post-conditions of calls only
  else {
    const why = checkPostConditions(r.tx, r.sender, res.events);
    if (why) {
      status = "abort_by_post_condition";
      r.postConditionFailure = why;
      journal.length = mark; // take the call back: rebuild without it
      await rebuild();
    } else status = "success";
  }
  if (r.fee > 0n) apply({ kind: "transfer", amount: r.fee, recipient: MINER, sender: r.sender });
  nextNonce.set(r.sender, r.nonce + 1);
  r.status = status;
  r.blockHeight = height;
  r.blockTime = Number(simnet.getBlockTime());
  r.result = result;
  r.events = status === "success" ? res.events : [];
  counters.mined++;
  counters[{ success: "success", abort_by_response: "abortByResponse", abort_by_post_condition: "abortByPostCondition" }[status]]++;
}

// mineBlock executes, per sender, the mempool transactions whose nonces
// follow the chain's; a gap stops that sender until it is filled.
function mineBlock() {
  return withChain(async () => {
    for (const r of txs.values()) {
      if (r.status === "pending" && r.dropAtNextBlock) {
        r.status = "dropped_stale_garbage_collect";
        counters.dropped++;
      }
    }
    catchUpClock();
    const bySender = new Map();
    for (const r of txs.values()) {
      if (r.status !== "pending") continue;
      if (!bySender.has(r.sender)) bySender.set(r.sender, new Map());
      bySender.get(r.sender).set(r.nonce, r);
    }
    let mined = 0;
    for (const [sender, byNonce] of bySender) {
      for (let n = expectedNonce(sender); byNonce.has(n); n++) {
        const r = byNonce.get(n);
        if (stxBalance(sender) < r.fee) break; // cannot pay: waits, as in a real mempool
        await executeOne(r);
        mined++;
      }
    }
    lastBlock = { height: simnet.blockHeight, time: Number(simnet.getBlockTime()), hash: blockHash(simnet.blockHeight) };
    return mined;
  });
}

let timer = null;
function schedule() {
  if (timer) clearTimeout(timer);
  timer = null;
  if (faults.blockIntervalMs > 0 && !faults.paused) {
    timer = setTimeout(async () => {
      try {
        await mineBlock();
      } catch (e) {
        process.stderr.write(`testnode: mining failed: ${e.stack ?? e}\n`);
      }
      schedule();
    }, faults.blockIntervalMs);
  }
}

// --- HTTP ------------------------------------------------------------------------

function send(res, status, body, type = "application/json") {
  const text = typeof body === "string" && type !== "application/json" ? body : JSON.stringify(body, (k, v) => (typeof v === "bigint" ? v.toString() : v));
  res.writeHead(status, { "Content-Type": type, "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req, limit = 2 * 1024 * 1024) {
  const chunks = [];
  let size = 0;
  for await (const c of req) {
    size += c.length;
    if (size > limit) throw Object.assign(new Error("body too large"), { status: 413 });
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

async function readJSON(req) {
  const b = await readBody(req);
  try {
    return b.length ? JSON.parse(b.toString()) : {};
  } catch {
    throw Object.assign(new Error("body is not JSON"), { status: 400 });
  }
}

function txJSON(r) {
  const p = r.tx.payload;
  const body = {
    tx_id: "0x" + r.txid, tx_status: r.status, tx_type: txTypes[p.payloadType], nonce: r.nonce, fee_rate: String(r.fee),
    sender_address: r.sender, sponsored: false, anchor_mode: "any",
    post_condition_mode: r.tx.postConditionMode === PostConditionMode.Deny ? "deny" : "allow",
    post_conditions: r.tx.postConditions.values.map((w) => {
      const pc = wireToPostCondition(w);
      return { ...pc, assetId: pc.assetId ? hexOf(pc.assetId) : undefined };
    }),
    receipt_time: r.receiptTime, receipt_time_iso: new Date(r.receiptTime * 1000).toISOString(),
  };
  if (p.payloadType === PayloadType.ContractCall) {
    body.contract_call = {
      contract_id: contractOf(p), function_name: p.functionName.content,
      function_args: p.functionArgs.map((a) => ({ hex: hexOf(a), repr: cvToString(a) })),
    };
  } else {
    body.token_transfer = { recipient_address: cvToString(p.recipient), amount: String(p.amount), memo: "0x" + Buffer.from(p.memo.content).toString("hex") };
  }
  if (r.blockHeight !== undefined) {
    Object.assign(body, {
      block_height: r.blockHeight, block_hash: blockHash(r.blockHeight), block_time: r.blockTime,
      block_time_iso: new Date(r.blockTime * 1000).toISOString(), canonical: true, microblock_canonical: true,
      tx_result: { hex: hexOf(r.result), repr: cvToString(r.result) },
      event_count: r.events.length, events: hiroEvents(r.events, r.txid),
    });
    if (r.postConditionFailure) body.post_condition_failure = r.postConditionFailure;
    if (r.error) body.runtime_error = r.error;
  }
  return body;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const reasons = new Set(["Serialization", "Deserialization", "SignatureValidation", "BadNonce", "FeeTooLow", "NotEnoughFunds",
  "NoSuchContract", "NoSuchPublicFunction", "BadFunctionArgument", "ConflictingNonceInMempool", "TooMuchChaining",
  "BadTransactionVersion", "ServerFailureOther", "ServerFailureDatabase", "EstimatorError", "TemporarilyBlacklisted"]);

function setFaults(body) {
  const bad = (msg) => { throw Object.assign(new Error(msg), { status: 400 }); };
  const fraction = (v, name) => (typeof v === "number" && v >= 0 && v <= 1 ? v : bad(`${name} must be a number in 0..1`));
  const count = (v, name) => (Number.isInteger(v) && v >= 0 ? v : bad(`${name} must be a non-negative integer`));
  for (const key of Object.keys(body)) {
    if (!["rejectNext", "unavailableNext", "rejectFraction", "rejectReason", "dropFraction", "delayMs", "chainLimit", "minFeeRate", "feeRates",
      "feeEstimateUnavailable", "blockIntervalMs", "paused", "seed"].includes(key)) bad(`unknown fault ${key}`);
  }
  if (body.rejectNext !== undefined) {
    const r = body.rejectNext;
    if (!reasons.has(r?.reason)) bad(`rejectNext.reason must be one of ${[...reasons].join(", ")}`);
    faults.rejectNext.push({ count: count(r.count ?? 1, "rejectNext.count"), reason: r.reason, reasonData: r.reasonData });
  }
  if (body.unavailableNext !== undefined) faults.unavailableNext = count(body.unavailableNext, "unavailableNext");
  if (body.rejectReason !== undefined) {
    if (!reasons.has(body.rejectReason)) bad(`rejectReason must be one of ${[...reasons].join(", ")}`);
    faults.rejectReason = body.rejectReason;
  }
  if (body.rejectFraction !== undefined) faults.rejectFraction = fraction(body.rejectFraction, "rejectFraction");
  if (body.dropFraction !== undefined) faults.dropFraction = fraction(body.dropFraction, "dropFraction");
  if (body.delayMs !== undefined) faults.delayMs = count(body.delayMs, "delayMs");
  if (body.chainLimit !== undefined) faults.chainLimit = count(body.chainLimit, "chainLimit");
  if (body.minFeeRate !== undefined) faults.minFeeRate = count(body.minFeeRate, "minFeeRate");
  if (body.feeRates !== undefined) {
    if (!Array.isArray(body.feeRates) || body.feeRates.length !== 3 || !body.feeRates.every((v) => typeof v === "number" && v >= 0)) {
      bad("feeRates must be three non-negative numbers (low, middle, high µSTX per byte)");
    }
    faults.feeRates = body.feeRates;
  }
  if (body.feeEstimateUnavailable !== undefined) faults.feeEstimateUnavailable = body.feeEstimateUnavailable === true;
  if (body.paused !== undefined) faults.paused = body.paused === true;
  if (body.blockIntervalMs !== undefined) faults.blockIntervalMs = count(body.blockIntervalMs, "blockIntervalMs");
  if (body.seed !== undefined) rngState = (faults.seed = count(body.seed, "seed")) >>> 0;
  schedule();
}

function parseArgHex(h) {
  try {
    return deserializeCV(String(h).replace(/^0x/, ""));
  } catch {
    throw Object.assign(new Error(`argument ${h} is not a Clarity value in hex`), { status: 400 });
  }
}

async function route(req, res) {
  const url = new URL(req.url, "http://127.0.0.1");
  const path = url.pathname;
  const m = (re) => path.match(re);
  let g;

  if (req.method === "POST" && path === "/v2/transactions") {
    if (!String(req.headers["content-type"] ?? "").startsWith("application/octet-stream")) {
      return send(res, 400, "Expected Content-Type application/octet-stream", "text/plain");
    }
    const bytes = new Uint8Array(await readBody(req));
    if (faults.unavailableNext > 0) {
      faults.unavailableNext--;
      counters.unavailable++;
      return send(res, 503, "Service Unavailable", "text/plain");
    }
    const [status, body] = await withChain(() => admit(bytes));
    if (status === 200) counters.accepted++;
    else {
      counters.rejected++;
      rejectedBy[body.reason] = (rejectedBy[body.reason] ?? 0) + 1;
    }
    if (faults.delayMs > 0) await sleep(faults.delayMs);
    return send(res, status, body);
  }
  if (req.method === "GET" && (g = m(/^\/extended\/v1\/address\/([A-Z0-9]+)\/nonces$/))) {
    const sender = g[1];
    const executed = expectedNonce(sender) - 1;
    const pending = pendingOf(sender).map((r) => r.nonce).sort((a, b) => b - a);
    const lastMempool = pending.length ? pending[0] : null;
    const missing = [];
    if (lastMempool !== null) {
      for (let n = lastMempool - 1; n > executed; n--) if (!pending.includes(n)) missing.push(n);
    }
    return send(res, 200, {
      last_mempool_tx_nonce: lastMempool, last_executed_tx_nonce: executed >= 0 ? executed : null,
      possible_next_nonce: Math.max(executed + 1, lastMempool === null ? 0 : lastMempool + 1),
      detected_missing_nonces: missing, detected_mempool_nonces: pending,
    });
  }
  if (req.method === "GET" && (g = m(/^\/extended\/v1\/tx\/(?:0x)?([0-9a-fA-F]{64})$/))) {
    const r = txs.get(g[1].toLowerCase());
    if (!r) return send(res, 404, { error: `could not find transaction by ID 0x${g[1].toLowerCase()}` });
    return send(res, 200, txJSON(r));
  }
  if (req.method === "POST" && path === "/v2/fees/transaction") {
    const body = await readJSON(req);
    const payloadHex = String(body.transaction_payload ?? "").replace(/^0x/, "");
    if (!/^([0-9a-fA-F]{2})+$/.test(payloadHex)) {
      return send(res, 400, { error: "Estimation could not be performed", reason: "CostEstimationFailed", reason_data: { message: "transaction_payload must be hex" } });
    }
    if (faults.feeEstimateUnavailable) {
      return send(res, 400, { error: "Estimation could not be performed", reason: "NoEstimateAvailable", reason_data: { message: "No estimate available for the provided payload." } });
    }
    // A signed single-sig transaction is about 150 bytes longer than its payload.
    const len = Math.max(Number(body.estimated_len ?? 0), payloadHex.length / 2 + 150);
    const scalar = len;
    return send(res, 200, {
      estimated_cost: { write_length: 0, write_count: 0, read_length: 0, read_count: 0, runtime: 0 },
      estimated_cost_scalar: scalar, cost_scalar_change_by_byte: 0,
      estimations: faults.feeRates.map((rate) => ({ fee_rate: rate, fee: Math.max(Math.ceil(rate * len), len * faults.minFeeRate) })),
    });
  }
  if (req.method === "GET" && path === "/v2/fees/transfer") return send(res, 200, faults.minFeeRate);
  if (req.method === "GET" && path === "/v2/info") {
    return send(res, 200, {
      peer_version: 4207599116, pox_consensus: lastBlock.hash.slice(2, 42), burn_block_height: simnet.burnBlockHeight,
      stable_pox_consensus: lastBlock.hash.slice(2, 42), stable_burn_block_height: simnet.burnBlockHeight,
      server_version: "stxgate-testnode (clarinet simnet)", network_id: TESTNET_CHAIN_ID, parent_network_id: 3669344250,
      stacks_tip_height: lastBlock.height, stacks_tip: lastBlock.hash.slice(2), stacks_tip_consensus_hash: lastBlock.hash.slice(2, 42),
      unanchored_tip: null, exit_at_block_height: null,
    });
  }
  if (req.method === "GET" && (g = m(/^\/v2\/accounts\/([A-Z0-9]+(?:\.[a-zA-Z0-9_-]+)?)$/))) {
    const balance = await withChain(() => stxBalance(g[1])); // not mid-rebuild
    return send(res, 200, { balance: u128Hex(balance), locked: u128Hex(0), unlock_height: 0, nonce: expectedNonce(g[1]) });
  }
  if (req.method === "GET" && (g = m(/^\/v2\/contracts\/interface\/([A-Z0-9]+)\/([a-zA-Z0-9_-]+)$/))) {
    const iface = contractInterface(`${g[1]}.${g[2]}`);
    if (!iface) return send(res, 404, "No contract interface data found", "text/plain");
    return send(res, 200, iface);
  }
  if (req.method === "POST" && (g = m(/^\/v2\/contracts\/call-read\/([A-Z0-9]+)\/([a-zA-Z0-9_-]+)\/([a-zA-Z0-9_!?<>=*+-]+)$/))) {
    const body = await readJSON(req);
    const args = (body.arguments ?? []).map(parseArgHex);
    return withChain(() => {
      try {
        const r = simnet.callReadOnlyFn(`${g[1]}.${g[2]}`, g[3], args, body.sender ?? deployer);
        send(res, 200, { okay: true, result: hexOf(r.result) });
      } catch (e) {
        send(res, 200, { okay: false, cause: String(e.message ?? e) });
      }
    });
  }

  // Control API (test code only).
  if (req.method === "GET" && path === "/control/state") {
    const mempool = [...txs.values()].filter((r) => r.status === "pending").length;
    return send(res, 200, { height: lastBlock.height, blockTime: lastBlock.time, mempool, counters, rejectedBy,
      faults: { ...faults, rejectNext: faults.rejectNext.map((f) => ({ ...f })) }, deployer });
  }
  if (req.method === "POST" && path === "/control/faults") {
    setFaults(await readJSON(req));
    return send(res, 200, { faults });
  }
  if (req.method === "POST" && path === "/control/mine") {
    const body = await readJSON(req);
    const blocks = body.blocks ?? 1;
    if (!Number.isInteger(blocks) || blocks < 1 || blocks > 1000) return send(res, 400, { error: "blocks must be an integer in 1..1000" });
    let mined = 0;
    for (let i = 0; i < blocks; i++) mined += await mineBlock();
    return send(res, 200, { height: lastBlock.height, mined });
  }
  if (req.method === "POST" && path === "/control/drop") {
    const body = await readJSON(req);
    const r = txs.get(String(body.txid ?? "").replace(/^0x/, "").toLowerCase());
    if (!r || r.status !== "pending") return send(res, 404, { error: "no pending transaction with that txid" });
    const status = body.status ?? "dropped_stale_garbage_collect";
    if (!/^dropped_[a-z_]+$/.test(status)) return send(res, 400, { error: "status must be a dropped_* status" });
    r.status = status;
    counters.dropped++;
    return send(res, 200, txJSON(r));
  }
  if (req.method === "POST" && path === "/control/fund") {
    const body = await readJSON(req);
    if (!/^S[TN][0-9A-Z]+(\.[a-zA-Z0-9_-]+)?$/.test(String(body.address)) || !/^[0-9]+$/.test(String(body.amount))) {
      return send(res, 400, { error: "want {address: a testnet principal, amount: µSTX as a decimal string}" });
    }
    await withChain(() => apply({ kind: "mint-stx", recipient: body.address, amount: BigInt(body.amount) }));
    return send(res, 200, { address: body.address, balance: String(stxBalance(body.address)) });
  }
  if (req.method === "POST" && path === "/control/call") {
    const body = await readJSON(req);
    const args = (body.args ?? []).map(parseArgHex);
    if (!body.contract || !body.function || !body.sender) return send(res, 400, { error: "want {contract, function, args: [hex], sender}" });
    return withChain(() => {
      let r;
      try {
        r = apply({ kind: "call", contract: body.contract, fn: body.function, args, sender: body.sender });
      } catch (e) {
        journal.pop();
        return send(res, 400, { error: String(e.message ?? e) });
      }
      send(res, 200, { result: { hex: hexOf(r.result), repr: cvToString(r.result) }, events: hiroEvents(r.events, "".padStart(64, "0")) });
    });
  }
  if (req.method === "GET" && (g = m(/^\/control\/txs\/([A-Z0-9]+)$/))) {
    // Every transaction of a sender the node ever accepted, by nonce then
    // arrival: what a test checks nonces and outcomes against.
    const list = [...txs.values()].filter((r) => r.sender === g[1]).sort((a, b) => a.nonce - b.nonce);
    return send(res, 200, list.map(txJSON));
  }
  if (req.method === "GET" && (g = m(/^\/control\/balance\/([A-Z0-9]+(?:\.[a-zA-Z0-9_-]+)?)$/))) {
    const out = {};
    for (const [asset, holders] of await withChain(() => simnet.getAssetsMap())) {
      const v = holders.get(g[1]);
      if (v !== undefined) out[asset === "STX" ? "STX" : asset.replace(/^\./, `${deployer}.`).replace(/\.([^.]+)$/, "::$1")] = String(v);
    }
    return send(res, 200, out);
  }
  return send(res, 404, { error: `no route ${req.method} ${path}` });
}

const server = http.createServer((req, res) => {
  route(req, res).catch((e) => {
    if (!res.headersSent) send(res, e.status ?? 500, { error: String(e.message ?? e) });
    if (!e.status) process.stderr.write(`testnode: ${req.method} ${req.url}: ${e.stack ?? e}\n`);
  });
});
server.listen(Number(opts.port), "127.0.0.1", () => {
  schedule();
  process.stdout.write(JSON.stringify({ url: `http://127.0.0.1:${server.address().port}`, deployer }) + "\n");
});
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => { server.close(); process.exit(0); });
