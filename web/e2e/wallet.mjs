// A test wallet that answers the Stacks wallet RPC the way Leather does:
// getAddresses → {addresses: [{symbol, address, publicKey}...]},
// stx_signMessage {message} → {signature, publicKey} with
// signMessageHashRsv({messageHash: bytesToHex(hashMessage(message)), privateKey}).
// The private key stays in Node: the page reaches the wallet through a binding
// exposed by Playwright, as it reaches an extension's injected provider.
import { bytesToHex } from '@stacks/common';
import { hashMessage } from '@stacks/encryption';
import {
  Cl,
  privateKeyToAddress,
  privateKeyToPublic,
  signMessageHashRsv,
  signStructuredData,
} from '@stacks/transactions';

export class TestWallet {
  constructor(privateKey) {
    this.privateKey = privateKey;
    this.publicKey = privateKeyToPublic(privateKey);
    this.mainnet = privateKeyToAddress(privateKey, 'mainnet');
    this.testnet = privateKeyToAddress(privateKey, 'testnet');
    this.network = 'mainnet'; // which account getAddresses reports
    this.calls = []; // every RPC request, in order: {method, params}
  }

  get address() {
    return this.network === 'mainnet' ? this.mainnet : this.testnet;
  }

  /** Messages the page asked to sign, parsed. */
  signed() {
    return this.calls.filter((c) => c.method === 'stx_signMessage').map((c) => JSON.parse(c.params.message));
  }

  signMessage(message) {
    return signMessageHashRsv({ messageHash: bytesToHex(hashMessage(message)), privateKey: this.privateKey });
  }

  /** SIP-018 order signature, as stx_signStructuredMessage makes it. */
  signOrder(order, domain = { name: 'stxgate', version: '1', chainId: 1 }) {
    const seconds = (iso) => Cl.uint(Math.floor(Date.parse(iso) / 1000));
    const principal = (p) => Cl.principal(p);
    const message = Cl.tuple({
      owner: principal(order.owner),
      'input-token': principal(order.inputToken),
      'output-token': principal(order.outputToken),
      'amount-in': Cl.uint(order.amountIn),
      'target-price': Cl.stringAscii(order.targetPrice),
      direction: Cl.stringAscii(order.direction),
      'condition-token': principal(order.conditionToken),
      recipient: principal(order.recipient),
      uuid: Cl.stringAscii(order.uuid),
      'valid-from': seconds(order.validFrom),
      'valid-to': seconds(order.validTo),
    });
    const domainCV = Cl.tuple({
      name: Cl.stringAscii(domain.name),
      version: Cl.stringAscii(domain.version),
      'chain-id': Cl.uint(domain.chainId),
    });
    return signStructuredData({ message, domain: domainCV, privateKey: this.privateKey });
  }

  /** One JSON-RPC request from the page; the answer is a JSON-RPC response. */
  async handle(method, params, id) {
    this.calls.push({ method, params });
    const ok = (result) => ({ jsonrpc: '2.0', id, result });
    switch (method) {
      case 'getAddresses':
      case 'stx_getAddresses':
        return ok({
          addresses: [
            // Leather lists its Bitcoin accounts first; pages must pick the Stacks one.
            { symbol: 'BTC', type: 'p2wpkh', address: 'bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh', publicKey: '' },
            { symbol: 'STX', address: this.address, publicKey: this.publicKey },
          ],
        });
      case 'stx_signMessage': {
        if (typeof params?.message !== 'string') {
          return { jsonrpc: '2.0', id, error: { code: -32602, message: 'message must be a string' } };
        }
        return ok({ signature: this.signMessage(params.message), publicKey: this.publicKey });
      }
      default:
        return { jsonrpc: '2.0', id, error: { code: -32601, message: `method ${method} not supported` } };
    }
  }
}

/**
 * Installs the wallet in a Playwright browser context as window.LeatherProvider
 * (the id @stacks/connect looks for), before any page script runs.
 */
export async function installWallet(context, wallet) {
  await context.exposeBinding('__testWalletRequest', (_source, method, params, id) => wallet.handle(method, params, id));
  await context.addInitScript(() => {
    let next = 1;
    const provider = {
      isLeather: true,
      request: (method, params) => window.__testWalletRequest(method, params ?? null, `test-${next++}`),
    };
    Object.defineProperty(window, 'LeatherProvider', { value: provider, configurable: false, writable: false });
  });
}
