// The wallet, through @stacks/connect: Leather, Xverse or any wallet that
// implements the Stacks wallet RPC (getAddresses, stx_signMessage). The page
// shows its own wallet chooser (main.ts) rather than @stacks/connect's modal,
// whose loader injects an inline <style> the Content-Security-Policy refuses.
import {
  DEFAULT_PROVIDERS,
  disconnect,
  getLocalStorage,
  isConnected,
  request,
  setSelectedProviderId,
  type StacksProvider,
} from '@stacks/connect';

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

/** A wallet the chooser offers: installed ones can connect, others link to their site. */
export interface WalletChoice {
  id: string;
  name: string;
  installed: boolean;
  webUrl: string;
}

/** The object a wallet extension injected under id ("LeatherProvider", "XverseProviders.BitcoinProvider"). */
function injected(id: string): unknown {
  let o: unknown = window;
  for (const part of id.split('.')) {
    if (o === null || typeof o !== 'object') return undefined;
    o = (o as Record<string, unknown>)[part];
  }
  return o ?? undefined;
}

// Wallets that hold Stacks accounts (DEFAULT_PROVIDERS also lists
// Bitcoin-only and multisig ones a dashboard user does not sign with here).
const STACKS_WALLETS = ['LeatherProvider', 'XverseProviders.BitcoinProvider'];

/** The wallets to offer, installed ones first. */
export function walletChoices(): WalletChoice[] {
  const known = DEFAULT_PROVIDERS.filter((p) => STACKS_WALLETS.includes(p.id)).map((p) => ({
    id: p.id,
    name: p.name,
    installed: injected(p.id) !== undefined,
    webUrl: p.webUrl ?? '',
  }));
  // A wallet we do not know by name that injected the generic provider.
  if (!known.some((w) => w.installed) && injected('StacksProvider') !== undefined) {
    known.unshift({ id: 'StacksProvider', name: 'Browser wallet', installed: true, webUrl: '' });
  }
  return known.sort((a, b) => Number(b.installed) - Number(a.installed));
}

/** Asks the chosen wallet for its addresses and remembers it for signing. */
export async function connectWallet(id: string, network: Network): Promise<Account> {
  const provider = injected(id);
  if (provider === undefined) throw new Error(`${id} is not installed in this browser`);
  const res = await request({ provider: provider as StacksProvider, enableLocalStorage: true }, 'getAddresses', { network });
  setSelectedProviderId(id); // later requests (stx_signMessage) go to this wallet
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

/** Whether err is the person saying no in the wallet (not a failure). */
export function isWalletCancel(err: unknown): boolean {
  const e = err as { code?: number } | null;
  return !!e && (e.code === -32000 || e.code === -31001);
}

/** A wallet error as a person should read it. */
export function walletErrorText(err: unknown): string {
  const e = err as { code?: number; message?: string };
  if (isWalletCancel(err)) return 'The request was cancelled in the wallet.';
  const msg = e?.message || String(err);
  return `Wallet error: ${msg}`;
}
