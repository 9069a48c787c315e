import { createCipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import forge from 'node-forge';
import { ratio } from '../lib/measure.ts';
import { fmt, type BenchContext, type WorkloadResult } from '../lib/results.ts';

/** The backup format's chunk (the backup format): each is sealed on its own. */
const CHUNK_BYTES = 64 * 1024;
const SLICE_MS = 100;

interface Throughput {
  readonly chunks: number;
  readonly megabytesPerSecond: number;
}

/**
 * Seals `bytes` in `CHUNK_BYTES` chunks with each sealer, in alternating slices of
 * 100 ms, so load from other processes that comes and goes falls on both alike.
 */
function throughputs(bytes: number, seals: readonly ((n: number) => void)[]): Throughput[] {
  const total = Math.ceil(bytes / CHUNK_BYTES);
  const chunks = seals.map(() => 0);
  const spent = seals.map(() => 0);
  while (chunks.some((n) => n < total)) {
    for (const [i, seal] of seals.entries()) {
      const started = performance.now();
      while (chunks[i]! < total && performance.now() - started < SLICE_MS) seal(chunks[i]!++);
      spent[i]! += performance.now() - started;
    }
  }
  return seals.map((_, i) => ({
    chunks: chunks[i]!,
    megabytesPerSecond: (chunks[i]! * CHUNK_BYTES) / 1_000_000 / (spent[i]! / 1000),
  }));
}

function nonce(n: number): Buffer {
  const iv = Buffer.alloc(12);
  iv.writeUInt32BE(n, 8);
  return iv;
}

function sealWithNode(key: Buffer, plaintext: Buffer, n: number): Buffer {
  const cipher = createCipheriv('aes-256-gcm', key, nonce(n));
  cipher.setAAD(nonce(n));
  const sealed = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([sealed, cipher.getAuthTag()]);
}

function sealWithForge(key: string, plaintext: forge.util.ByteStringBuffer, n: number): Buffer {
  const cipher = forge.cipher.createCipher('AES-GCM', key);
  cipher.start({
    iv: nonce(n).toString('binary'),
    additionalData: nonce(n).toString('binary'),
    tagLength: 128,
  });
  cipher.update(plaintext.copy());
  cipher.finish();
  return Buffer.concat([
    Buffer.from(cipher.output.getBytes(), 'binary'),
    Buffer.from(cipher.mode.tag.getBytes(), 'binary'),
  ]);
}

/**
 * Why backups use node:crypto (the design names node-forge as the alternative
 * it was measured against): AES-256-GCM over 64 KiB chunks, each with its own nonce and
 * associated data, in this process, node:crypto (OpenSSL) against node-forge (pure
 * JavaScript). Both must produce the same ciphertext and tag, or the figure means nothing.
 */
export async function aesGcm(ctx: BenchContext): Promise<WorkloadResult> {
  // The same 256 MB each library seals (32 MB in a quick run).
  const bytes = (ctx.settings.quick ? 32 : 256) * 1024 * 1024;
  const key = randomBytes(32);
  const plaintext = randomBytes(CHUNK_BYTES);
  const forgeKey = key.toString('binary');
  const forgePlaintext = forge.util.createBuffer(plaintext.toString('binary'));
  if (!sealWithNode(key, plaintext, 7).equals(sealWithForge(forgeKey, forgePlaintext, 7)))
    throw new Error('node:crypto and node-forge disagree on AES-256-GCM');

  ctx.progress('AES-256-GCM: node:crypto against node-forge');
  const [node, forged] = throughputs(bytes, [
    (n) => void sealWithNode(key, plaintext, n),
    (n) => void sealWithForge(forgeKey, forgePlaintext, n),
  ]) as [Throughput, Throughput];
  const r = ratio(node.megabytesPerSecond, forged.megabytesPerSecond);
  const mbps = (t: Throughput) => `${t.megabytesPerSecond.toFixed(t.megabytesPerSecond < 100 ? 1 : 0)} MB/s`;
  return {
    sections: [
      {
        title: 'AES-256-GCM: node:crypto against node-forge',
        description:
          `Sealing the same ${bytes / 1024 / 1024} MiB in ${CHUNK_BYTES / 1024} KiB chunks (a nonce and associated data per chunk, as backups do) in the bench process, ` +
          `each library in alternating ${SLICE_MS} ms slices; both libraries produce the same ciphertext and tag. ` +
          `node-forge ${forgeVersion()} is a devDependency for this measurement only.`,
        table: {
          columns: ['library', 'chunks', 'throughput', 'ratio'],
          rows: [
            ['node:crypto (OpenSSL)', fmt.int(node.chunks), mbps(node), fmt.ratio(r)],
            ['node-forge (JavaScript)', fmt.int(forged.chunks), mbps(forged), '1.00x'],
          ],
        },
        notes: [],
      },
    ],
    budgets: [],
    headlines: [
      {
        measure: `AES-256-GCM of ${bytes / 1024 / 1024} MiB in 64 KiB chunks: node:crypto vs node-forge`,
        target: 'in process',
        result: `${fmt.ratio(r)} (${mbps(node)} vs ${mbps(forged)})`,
      },
    ],
    data: { chunkBytes: CHUNK_BYTES, node, forge: forged, ratio: r },
  };
}

function forgeVersion(): string {
  const path = new URL('../../node_modules/node-forge/package.json', import.meta.url);
  return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
}
