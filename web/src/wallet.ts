// The wallet, through @stacks/connect: Leather, Xverse or any wallet that
// implements the Stacks wallet RPC (getAddresses, stx_signMessage).
import { connect, disconnect, getLocalStorage, isConnected, request } from '@stacks/connect';

import type { Network } from './api';

export interface Account {
  address: string;
  publicKey: string | null;
}

/** The network of a Stacks address, from its version character. */
export function addressNetwork(address: string): Network | null {
  switch (address[1]) {
    case 'P':
    case 'M':
      return 'mainnet';
    case 'T':
    case 'N':
      return 'testnet';
    default:
      return null;
  }
}

function pickStacks(entries: { address: string; publicKey?: string }[], want: Network): Account | null {
  const stx = entries.filter((e) => /^S[PMTN][0-9A-Z]{20,}$/.test(e.address));
  const best = stx.find((e) => addressNetwork(e.address) === want) ?? stx[0];
  return best ? { address: best.address, publicKey: best.publicKey || null } : null;
}

/** Opens the wallet picker and asks the chosen wallet for its addresses. */
export async function connectWallet(network: Network): Promise<Account> {
  const res = await connect({ network });
  const acct = pickStacks(res.addresses, network);
  if (!acct) throw new Error('The wallet returned no Stacks address');
  return acct;
}

/** The account remembered from an earlier connect, without asking the wallet. */
export function rememberedAccount(network: Network): Account | null {
  if (!isConnected()) return null;
  return pickStacks(getLocalStorage()?.addresses?.stx ?? [], network);
}

export function forgetWallet(): void {
  disconnect();
}

/** Asks the wallet to sign message (stx_signMessage, UTF-8). */
export async function signMessage(message: string): Promise<{ signature: string; publicKey: string }> {
  const res = await request('stx_signMessage', { message });
  return { signature: res.signature, publicKey: res.publicKey };
}

/** A wallet error as a person should read it. */
export function walletErrorText(err: unknown): string {
  const e = err as { code?: number; message?: string };
  if (e && (e.code === -32000 || e.code === -31001)) return 'The request was cancelled in the wallet.';
  const msg = e?.message || String(err);
  return `Wallet error: ${msg}`;
}
