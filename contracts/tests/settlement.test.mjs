// The reference settlement contract in simnet, with orders signed by the Go
// side exactly as a wallet signs them (`stxgatectl sign order`, pkg/ordersig).
// simnet's chain id is testnet's, so orders are signed for testnet.
import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { initSimnet } from "@stacks/clarinet-sdk";
import { Cl, cvToString, privateKeyToAddress } from "@stacks/transactions";

const here = dirname(fileURLToPath(import.meta.url));
const manifest = join(here, "..", "Clarinet.toml");
const repo = join(here, "..", "..");

// Fixed keys: the owner signs orders; the executor and the recipient only
// need addresses (simnet runs calls as any sender).
const OWNER_KEY = "73a2f291df5a8ce3ceb668a25ac7af45639513af7596d710ddf59f64f484fd2801";
const OWNER = privateKeyToAddress(OWNER_KEY, "testnet");
const OTHER_KEY = "c2a0a4f0e8d6b7a38e5d3fbe0a9e9e4c6f1e2d3c4b5a69788796a5b4c3d2e1f001";
const OTHER = privateKeyToAddress(OTHER_KEY, "testnet");

const ERR = {
  NOT_ADMIN: 1000, UNAUTHORISED_EXECUTOR: 1001, BAD_SIGNATURE: 1002, UUID_USED: 1003, EXPIRED: 1004,
  NOT_YET_VALID: 1005, INSUFFICIENT_BALANCE: 1006, WRONG_TOKEN: 1007, NO_POOL: 1008, ZERO_AMOUNT: 1010,
  POOL_REVERSED: 1013,
};

let simnet, deployer, executor, recipient, tokenA, tokenB, settlement, cliDir, cli;

before(async () => {
  cliDir = mkdtempSync(join(tmpdir(), "stxgatectl-"));
  cli = join(cliDir, "stxgatectl");
  execFileSync("go", ["build", "-o", cli, "./cmd/stxgatectl"], { cwd: repo, stdio: "inherit" });
  simnet = await initSimnet(manifest);
});

after(() => rmSync(cliDir, { recursive: true, force: true }));

const POOL_A = 50_000_000_000n;
const POOL_B = 20_000_000_000n;
const DEPOSIT = 5_000_000n;

// A fresh chain for each test: tokens minted, the owner's deposit, the
// operator's pool and one authorised executor.
beforeEach(async () => {
  simnet = await initSimnet(manifest); // a new session: state from the previous test is gone
  const accounts = simnet.getAccounts();
  deployer = accounts.get("deployer");
  executor = accounts.get("wallet_1");
  recipient = accounts.get("wallet_2");
  tokenA = `${deployer}.token-a`;
  tokenB = `${deployer}.token-b`;
  settlement = `${deployer}.stxgate-settlement`;
  ok(call(tokenA, "mint", [Cl.uint(POOL_A), Cl.principal(deployer)], deployer));
  ok(call(tokenB, "mint", [Cl.uint(POOL_B), Cl.principal(deployer)], deployer));
  ok(call(tokenA, "mint", [Cl.uint(DEPOSIT), Cl.principal(OWNER)], deployer));
  ok(call(settlement, "add-liquidity", [Cl.principal(tokenA), Cl.principal(tokenB), Cl.uint(POOL_A), Cl.uint(POOL_B)], deployer));
  ok(call(settlement, "set-executor", [Cl.principal(executor), Cl.bool(true)], deployer));
  ok(call(settlement, "deposit", [Cl.principal(tokenA), Cl.uint(DEPOSIT)], OWNER));
});

function call(contract, fn, args, sender) {
  return simnet.callPublicFn(contract, fn, args, sender);
}

function ok(res) {
  assert.equal(res.result.type, "ok", `want (ok ...), got ${cvToString(res.result)}`);
  return res;
}

function assertErr(res, code) {
  assert.equal(cvToString(res.result), `(err u${code})`);
}

// blockTime is the time the next public call judges orders against: simnet
// mines that call in a new block whose parent is the block being built now.
function blockTime() {
  return Number(simnet.getBlockTime());
}

function iso(unixSeconds) {
  return new Date(unixSeconds * 1000).toISOString().replace(".000Z", "Z");
}

// sign runs `stxgatectl sign order` and returns its JSON body.
function sign({ key = OWNER_KEY, network = "testnet", env = {}, validFrom, validFor = "24h", ...flags } = {}) {
  const o = {
    "input-token": tokenA, "output-token": tokenB, "amount-in": "1000000", "target-price": "0.30",
    direction: "gt", "condition-token": tokenA, recipient, uuid: `order-${Math.random().toString(36).slice(2)}`,
    ...flags,
  };
  const args = ["--network", network, "sign", "order", "--valid-for", validFor,
    "--valid-from", iso(validFrom ?? blockTime() - 3600)];
  for (const [k, v] of Object.entries(o)) args.push(`--${k}`, v);
  const out = execFileSync(cli, args, { env: { PATH: process.env.PATH, STXGATE_PRIVATE_KEY: key, ...env } });
  return JSON.parse(out.toString());
}

// tuple is the order as the executor passes it: the Clarity tuple of DESIGN.md.
function tuple(b) {
  return Cl.tuple({
    owner: Cl.principal(b.owner), "input-token": Cl.principal(b.inputToken), "output-token": Cl.principal(b.outputToken),
    "amount-in": Cl.uint(BigInt(b.amountIn)), "target-price": Cl.stringAscii(b.targetPrice), direction: Cl.stringAscii(b.direction),
    "condition-token": Cl.principal(b.conditionToken), recipient: Cl.principal(b.recipient), uuid: Cl.stringAscii(b.uuid),
    "valid-from": Cl.uint(Date.parse(b.validFrom) / 1000), "valid-to": Cl.uint(Date.parse(b.validTo) / 1000),
  });
}

function execute(body, { sender = executor, input = body.inputToken, output = body.outputToken, signature = body.signature } = {}) {
  return call(settlement, "execute-order",
    [tuple(body), Cl.bufferFromHex(signature), Cl.principal(input), Cl.principal(output)], sender);
}

function wallet(token, who) {
  return simnet.getAssetsMap().get(`.${token.split(".")[1]}.token`)?.get(who) ?? 0n;
}

function deposit(who, token) {
  return simnet.callReadOnlyFn(settlement, "get-balance", [Cl.principal(who), Cl.principal(token)], deployer).result.value;
}

function reserves() {
  const r = simnet.callReadOnlyFn(settlement, "get-reserves", [Cl.principal(tokenA), Cl.principal(tokenB)], deployer).result.value.value;
  return { in: r["reserve-in"].value, out: r["reserve-out"].value };
}

// What the constant-product pool pays, fee 30 bps, rounded down.
function quote(amountIn, reserveIn, reserveOut) {
  const withFee = amountIn * 9970n;
  return (withFee * reserveOut) / (reserveIn * 10000n + withFee);
}

describe("execute-order", () => {
  test("an order signed by stxgatectl verifies on chain and moves the balances exactly", () => {
    const body = sign({ "amount-in": "1000000" });
    assert.equal(body.owner, OWNER);
    const want = quote(1_000_000n, POOL_A, POOL_B);
    assert.equal(want, 398_792n);
    const quoted = simnet.callReadOnlyFn(settlement, "get-quote", [Cl.principal(tokenA), Cl.principal(tokenB), Cl.uint(1_000_000n)], deployer).result;
    assert.equal(cvToString(quoted), `(ok u${want})`);
    const contractB = wallet(tokenB, settlement);

    const res = ok(execute(body));
    assert.equal(cvToString(res.result), `(ok (tuple (amount-in u1000000) (amount-out u${want})))`);
    assert.equal(deposit(OWNER, tokenA), DEPOSIT - 1_000_000n);
    assert.equal(wallet(tokenB, recipient), want);
    assert.equal(wallet(tokenB, OWNER), 0n);
    assert.equal(wallet(tokenB, settlement), contractB - want);
    assert.equal(wallet(tokenA, settlement), POOL_A + DEPOSIT, "input tokens stay in custody, now in the pool");
    assert.deepEqual(reserves(), { in: POOL_A + 1_000_000n, out: POOL_B - want });
    // The only asset movement is the output transfer from the contract to the recipient.
    const moves = res.events.filter((e) => e.event.startsWith("ft_"));
    assert.deepEqual(moves.map((e) => [e.event, e.data.asset_identifier, e.data.sender, e.data.recipient, e.data.amount]),
      [["ft_transfer_event", `${tokenB}::token`, settlement, recipient, String(want)]]);
    const executed = simnet.callReadOnlyFn(settlement, "get-executed", [Cl.stringAscii(body.uuid)], deployer).result;
    assert.equal(cvToString(executed.value.value.owner), OWNER);
  });

  test("the contract's order hash is the one the Go side signed", () => {
    // stxgate's testnet domain hash (shared/vectors/stacks-vectors.json, sip018.domains.testnet).
    assert.equal(cvToString(simnet.callReadOnlyFn(settlement, "domain-hash", [], deployer).result),
      "0x1355ba607dcf0a928eb3209c34c43b2812239343a4b5e9a119f502984285a807");
    const body = sign();
    const hash = simnet.callReadOnlyFn(settlement, "order-hash", [tuple(body)], deployer).result.value;
    const rec = simnet.execute(`(secp256k1-recover? 0x${hash} 0x${body.signature})`).result;
    const addr = simnet.execute(`(principal-of? ${cvToString(rec.value)})`).result;
    assert.equal(cvToString(addr), `(ok ${OWNER})`);
  });

  // Every field is covered by the signature: change one after signing and the
  // signature no longer recovers the owner.
  const tamper = {
    owner: (b) => ({ ...b, owner: OTHER }),
    inputToken: (b) => ({ ...b, inputToken: b.outputToken, outputToken: b.inputToken }),
    amountIn: (b) => ({ ...b, amountIn: "1000001" }),
    targetPrice: (b) => ({ ...b, targetPrice: "0.31" }),
    direction: (b) => ({ ...b, direction: "lt" }),
    conditionToken: (b) => ({ ...b, conditionToken: b.outputToken }),
    recipient: (b) => ({ ...b, recipient: executor }),
    uuid: (b) => ({ ...b, uuid: b.uuid + "x" }),
    validFrom: (b) => ({ ...b, validFrom: iso(Date.parse(b.validFrom) / 1000 - 1) }),
    validTo: (b) => ({ ...b, validTo: iso(Date.parse(b.validTo) / 1000 + 1) }),
  };
  for (const [field, change] of Object.entries(tamper)) {
    test(`a tampered ${field} is refused with err u${ERR.BAD_SIGNATURE}`, () => {
      const body = change(sign());
      if (field === "owner") ok(call(tokenA, "mint", [Cl.uint(DEPOSIT), Cl.principal(OTHER)], deployer));
      assertErr(execute(body), ERR.BAD_SIGNATURE);
      assert.equal(deposit(OWNER, tokenA), DEPOSIT);
      assert.equal(wallet(tokenB, recipient), 0n);
    });
  }

  test("a tampered signature byte is refused", () => {
    const body = sign();
    const sig = Buffer.from(body.signature, "hex");
    sig[10] ^= 1;
    assertErr(execute(body, { signature: sig.toString("hex") }), ERR.BAD_SIGNATURE);
  });

  test("another signer's signature is refused", () => {
    const body = sign();
    const theirs = sign({ key: OTHER_KEY, owner: OWNER, uuid: body.uuid, validFrom: Date.parse(body.validFrom) / 1000 });
    assertErr(execute(body, { signature: theirs.signature }), ERR.BAD_SIGNATURE);
  });

  test("an order signed under another domain is refused", () => {
    for (const env of [{ STXGATE_SIP018_NAME: "other-gateway" }, { STXGATE_SIP018_VERSION: "2" }]) {
      assertErr(execute(sign({ env })), ERR.BAD_SIGNATURE);
    }
    // The mainnet domain (chain-id u1) with the same key and hash160: the owner
    // is an SP address, and the signature is over another domain.
    const mainnet = sign({ network: "mainnet", "input-token": tokenA, "output-token": tokenB });
    assert.match(mainnet.owner, /^SP/);
    assertErr(execute({ ...mainnet, owner: OWNER }), ERR.BAD_SIGNATURE);
    assertErr(execute(mainnet), ERR.BAD_SIGNATURE);
    assert.equal(deposit(OWNER, tokenA), DEPOSIT);
  });

  test("a used uuid is refused, even signed again with other terms", () => {
    const body = sign({ "amount-in": "1000000" });
    ok(execute(body));
    assertErr(execute(body), ERR.UUID_USED);
    assertErr(execute(sign({ uuid: body.uuid, "amount-in": "5" })), ERR.UUID_USED);
    assert.equal(deposit(OWNER, tokenA), DEPOSIT - 1_000_000n);
  });

  // The contract judges against the parent block's time, which is what
  // blockTime() reads until the next call is mined: the bounds are exact.
  test("an expired order is refused, and so is one not yet valid; both bounds are inclusive", () => {
    const now = blockTime();
    assertErr(execute(sign({ validFrom: now - 3601, validFor: "1h" })), ERR.EXPIRED); // valid-to = now - 1
    assertErr(execute(sign({ validFrom: blockTime() + 1 })), ERR.NOT_YET_VALID);
    assertErr(execute(sign({ validFrom: blockTime() - 7200, validFor: "1h" })), ERR.EXPIRED);
    assert.equal(deposit(OWNER, tokenA), DEPOSIT);
    ok(execute(sign({ validFrom: blockTime() - 60, validFor: "1m" }))); // valid-to = block time
    ok(execute(sign({ validFrom: blockTime() }))); // valid-from = block time
  });

  test("a failed execution rolls back: the uuid can still execute once the deposit suffices", () => {
    const body = sign({ "amount-in": String(DEPOSIT + 1n) });
    assertErr(execute(body), ERR.INSUFFICIENT_BALANCE);
    assert.equal(simnet.callReadOnlyFn(settlement, "get-executed", [Cl.stringAscii(body.uuid)], deployer).result.type, "none");
    ok(call(tokenA, "mint", [Cl.uint(1), Cl.principal(OWNER)], deployer));
    ok(call(settlement, "deposit", [Cl.principal(tokenA), Cl.uint(1)], OWNER));
    ok(execute(body));
    assert.equal(deposit(OWNER, tokenA), 0n);
  });

  test("only authorised executors may execute", () => {
    const body = sign();
    assertErr(execute(body, { sender: recipient }), ERR.UNAUTHORISED_EXECUTOR);
    assertErr(execute(body, { sender: OWNER }), ERR.UNAUTHORISED_EXECUTOR);
    assertErr(call(settlement, "set-executor", [Cl.principal(recipient), Cl.bool(true)], executor), ERR.NOT_ADMIN);
    ok(call(settlement, "set-executor", [Cl.principal(executor), Cl.bool(false)], deployer));
    assertErr(execute(body), ERR.UNAUTHORISED_EXECUTOR);
    ok(call(settlement, "set-executor", [Cl.principal(recipient), Cl.bool(true)], deployer));
    ok(execute(body, { sender: recipient }));
  });

  test("the token traits must be the order's tokens", () => {
    const body = sign();
    assertErr(execute(body, { input: tokenB }), ERR.WRONG_TOKEN);
    assertErr(execute(body, { output: tokenA }), ERR.WRONG_TOKEN);
    assert.equal(deposit(OWNER, tokenA), DEPOSIT);
  });

  test("an order for a pair without a pool is refused", () => {
    assertErr(execute(sign({ "output-token": tokenA })), ERR.NO_POOL);
    assert.equal(deposit(OWNER, tokenA), DEPOSIT);
  });
});

describe("custody", () => {
  test("an owner withdraws what is left, and no more", () => {
    ok(execute(sign({ "amount-in": "1000000" })));
    assertErr(call(settlement, "withdraw", [Cl.principal(tokenA), Cl.uint(4_000_001n)], OWNER), ERR.INSUFFICIENT_BALANCE);
    assertErr(call(settlement, "withdraw", [Cl.principal(tokenA), Cl.uint(1)], recipient), ERR.INSUFFICIENT_BALANCE);
    const res = ok(call(settlement, "withdraw", [Cl.principal(tokenA), Cl.uint(4_000_000n)], OWNER));
    assert.deepEqual(res.events.filter((e) => e.event === "ft_transfer_event").map((e) => [e.data.sender, e.data.recipient, e.data.amount]),
      [[settlement, OWNER, "4000000"]]);
    assert.equal(wallet(tokenA, OWNER), 4_000_000n);
    assert.equal(deposit(OWNER, tokenA), 0n);
    assertErr(call(settlement, "withdraw", [Cl.principal(tokenA), Cl.uint(0)], OWNER), ERR.ZERO_AMOUNT);
  });

  test("a deposit needs the tokens in the wallet", () => {
    assert.equal(cvToString(call(settlement, "deposit", [Cl.principal(tokenA), Cl.uint(1)], OWNER).result), "(err u1)");
    assert.equal(deposit(OWNER, tokenA), DEPOSIT);
  });

  test("only the admin manages liquidity; one pool per pair", () => {
    ok(call(tokenA, "mint", [Cl.uint(10), Cl.principal(executor)], deployer));
    ok(call(tokenB, "mint", [Cl.uint(10), Cl.principal(executor)], deployer));
    assertErr(call(settlement, "add-liquidity", [Cl.principal(tokenA), Cl.principal(tokenB), Cl.uint(10), Cl.uint(10)], executor), ERR.NOT_ADMIN);
    assertErr(call(settlement, "remove-liquidity", [Cl.principal(tokenA), Cl.principal(tokenB), Cl.uint(1), Cl.uint(1)], executor), ERR.NOT_ADMIN);
    assertErr(call(settlement, "add-liquidity", [Cl.principal(tokenB), Cl.principal(tokenA), Cl.uint(1), Cl.uint(1)], deployer), ERR.POOL_REVERSED);
    ok(call(settlement, "remove-liquidity", [Cl.principal(tokenA), Cl.principal(tokenB), Cl.uint(1000), Cl.uint(0)], deployer));
    assert.deepEqual(reserves(), { in: POOL_A - 1000n, out: POOL_B });
    assert.equal(wallet(tokenA, deployer), 1000n);
  });
});
