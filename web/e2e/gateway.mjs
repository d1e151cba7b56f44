// Starts a real stxgate for the end-to-end test: the binary built from this
// checkout, on a fresh PostgreSQL database and a fresh Redis key prefix, on a
// free loopback port. stop() ends it and removes the database and the keys.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function withDatabase(url, name) {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

function psql(adminURL, sql) {
  execFileSync('psql', [adminURL, '-v', 'ON_ERROR_STOP=1', '-qAtc', sql], { stdio: ['ignore', 'pipe', 'pipe'] });
}

async function waitReady(base, proc, logFile) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) break;
    try {
      const res = await fetch(`${base}/readyz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const log = await readFile(logFile, 'utf8').catch(() => '');
  throw new Error(`gateway did not become ready (exit ${proc.exitCode}); log:\n${log.slice(-4000)}`);
}

/**
 * Builds and starts the gateway. env adds STXGATE_* settings; the gateway's
 * log goes to logFile (kept, for a failed run). memory: the embedded
 * in-memory store and limiter (what make run gives a newcomer) instead of
 * PostgreSQL and Redis. Returns {base, stop}.
 */
export async function startGateway({ env = {}, logFile, memory = false }) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stxgate-e2e-'));
  const bin = path.join(dir, 'stxgate');
  execFileSync('go', ['build', '-o', bin, './cmd/stxgate'], { cwd: repo, stdio: 'inherit' });

  const adminURL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable';
  const dbName = `stxgate_e2e_${randomBytes(6).toString('hex')}`;
  if (!memory) psql(adminURL, `CREATE DATABASE ${dbName}`);
  const redisURL = process.env.REDIS_URL || 'redis://127.0.0.1:6379/0';
  const prefix = `stxgate-e2e-${randomBytes(6).toString('hex')}:`;
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const log = createWriteStream(logFile);
  const proc = spawn(bin, [], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ...(memory ? {} : { DATABASE_URL: withDatabase(adminURL, dbName), REDIS_URL: redisURL, STXGATE_REDIS_PREFIX: prefix }),
      STXGATE_LISTEN: `127.0.0.1:${port}`,
      STXGATE_METRICS_LISTEN: 'off', // two test gateways at once must not both take 127.0.0.1:9464
      STXGATE_METRICS_LISTEN: 'off', // parallel runs would race for the default port
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout.pipe(log);
  proc.stderr.pipe(log);

  const stop = async () => {
    if (proc.exitCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    if (memory) {
      await rm(dir, { recursive: true, force: true });
      return;
    }
    try {
      psql(adminURL, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    } catch (err) {
      console.error(`e2e: could not drop ${dbName}: ${err.message}`);
    }
    try {
      const u = new URL(redisURL);
      const args = ['-h', u.hostname, '-p', u.port || '6379', '-n', u.pathname.slice(1) || '0'];
      const keys = execFileSync('redis-cli', [...args, '--scan', '--pattern', `${prefix}*`], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean);
      for (let i = 0; i < keys.length; i += 500) execFileSync('redis-cli', [...args, 'DEL', ...keys.slice(i, i + 500)]);
    } catch (err) {
      console.error(`e2e: could not clean Redis prefix ${prefix}: ${err.message}`);
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await waitReady(base, proc, logFile);
  } catch (err) {
    await stop();
    throw err;
  }
  return { base, stop };
}
