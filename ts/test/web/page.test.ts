/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The decoder web page (web/, built into web/dist by `npm run build:web`) in
 * Debian's headless Chromium, driven by puppeteer-core over its pipe (no
 * browser download). Every golden fixture's tree on the page must equal the
 * CLI's `decode --json` tree; the bit map, the URL, the batch box, bad input
 * and offline use are checked. WEB_SCREENSHOT=<file> keeps the screenshot of
 * the page decoding 0x96000045 (docs/web-decoder.png comes from it).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import type { Server } from 'http';
import type { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import type { Field } from '../../src/field';
import { syndromesIn } from '../../src/syndrome-text';

const REPO = path.resolve(__dirname, '..', '..', '..');
const CLI = path.join(REPO, 'ts', 'dist', 'cli.js');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const GOLDEN = JSON.parse(fs.readFileSync(path.join(REPO, 'fixtures', 'esr', 'golden.json'), 'utf8')) as { esr: string; summary: string }[];

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { serveWeb } = require(path.join(REPO, 'web', 'serve.js')) as {
  serveWeb(o: { root?: string; port?: number }): Promise<Server>;
};

let server: Server;
let base = '';
let browser: Browser;
let page: Page;

/** The CLI's trees for `values`, one JSON line each. */
function cliTrees(values: string[]): Field[] {
  const r = spawnSync(process.execPath, [CLI, 'decode', '--json', ...values], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`decode --json exited ${r.status}: ${r.stderr}`);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Field);
}

/** The tree the page shows, read back from its list items' data attributes. */
async function pageTree(): Promise<Field | null> {
  return page.evaluate(() => {
    const read = (li: HTMLLIElement): unknown => ({
      name: li.dataset.name,
      hi: Number(li.dataset.hi),
      lo: Number(li.dataset.lo),
      value: li.dataset.value,
      meaning: li.dataset.meaning ?? null,
      fields: [...li.querySelectorAll(':scope > ul > li')].map((c) => read(c as HTMLLIElement)),
    });
    const root = document.querySelector('#tree > li');
    return root === null ? null : (read(root as HTMLLIElement) as never);
  });
}

async function open(hash: string): Promise<void> {
  await page.goto(`${base}/${hash}`);
  await page.waitForSelector('body[data-decoder="ready"]');
}

beforeAll(async () => {
  if (!fs.existsSync(path.join(REPO, 'web', 'dist', 'index.html'))) {
    throw new Error('web/dist has no page: run npm run build:wasm && npm run build:web');
  }
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} missing: scripts/setup.sh installs Debian's chromium`);
  server = await serveWeb({ port: 0 });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    pipe: true,
    // As root (CI), Chromium's sandbox cannot start.
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run'],
  });
  page = await browser.newPage();
  await page.setViewport({ width: 1200, height: 900 });
}, 60000);

afterAll(async () => {
  await browser?.close();
  if (server?.listening) await new Promise((r) => server.close(r));
});

describe('the decoder page', () => {
  it('shows, for every golden fixture value, the tree and summary the CLI decodes', async () => {
    await open('');
    const want = cliTrees(GOLDEN.map((g) => g.esr));
    for (const [i, g] of GOLDEN.entries()) {
      await page.evaluate((v) => {
        location.hash = v;
      }, g.esr);
      await page.waitForFunction((v) => document.querySelector('#tree > li')?.getAttribute('data-value') === v, {}, g.esr);
      expect(await pageTree()).toEqual(want[i]);
      expect(await page.$eval('#summary', (e) => e.textContent)).toBe(g.summary);
    }
  }, 60000);

  it('draws each field over its bits, and the bits of the value', async () => {
    await open('#0x96000045');
    const blocks = await page.$$eval('#bits .field', (es) =>
      es.map((e) => `${(e as HTMLElement).dataset.name}[${(e as HTMLElement).dataset.hi}:${(e as HTMLElement).dataset.lo}]@${(e as HTMLElement).style.gridColumn}`),
    );
    // EC is bits 31:26 (Arm ARM D24.2.40), columns 33 to 39 of 64 most significant first.
    expect(blocks).toContain('EC[31:26]@33 / 39');
    expect(blocks).toContain('ISS[24:0]@40 / 65');
    const ones = await page.$$eval('#bits .bit.one', (es) => es.length);
    expect(ones).toBe(0x96000045.toString(2).split('').filter((b) => b === '1').length);
    const file = process.env.WEB_SCREENSHOT ?? path.join(os.tmpdir(), 'kvm-debug-web-decoder.png');
    await page.screenshot({ path: file as `${string}.png`, fullPage: true });
    expect(fs.readFileSync(file).subarray(1, 4).toString()).toBe('PNG');
  }, 30000);

  it('typing a value decodes it and makes the URL shareable; a bad value is named', async () => {
    await open('');
    await page.type('#value', '0x9600_0045');
    await page.waitForFunction(() => location.hash === '#0x9600_0045');
    expect((await pageTree())?.value).toBe('0x96000045');
    await page.$eval('#value', (e) => {
      (e as HTMLInputElement).value = '0xzz45';
      e.dispatchEvent(new Event('input'));
    });
    expect(await page.$eval('#error', (e) => [(e as HTMLElement).hidden, e.textContent])).toEqual([
      false,
      '"0xzz45": not a number (expected 0x-hex, 0b-binary or decimal; _ may group digits)',
    ]);
    expect(await pageTree()).toBeNull();
  }, 30000);

  it('picks every syndrome out of a pasted dmesg excerpt, as decode --grep does', async () => {
    await open('');
    const dmesg = [
      '[   12.345678] Unable to handle kernel paging request at virtual address dead000000000108',
      '[   12.345699] Mem abort info:',
      '[   12.345701]   ESR = 0x0000000096000044',
      '[   12.345760] kvm [1234]: Unhandled exception: esr=0x82000006 at pc 0x0',
      '[   12.345800] Internal error: Oops: 0000000096000005 [#1] PREEMPT SMP',
    ].join('\n');
    await page.$eval('#batch', (e, text) => {
      (e as HTMLTextAreaElement).value = text;
      e.dispatchEvent(new Event('input'));
    }, dmesg);
    const rows = await page.$$eval('#batch-results tbody tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
    const found = syndromesIn(dmesg);
    expect(found).toEqual(['0x0000000096000044', '0x82000006', '0x0000000096000005']);
    expect(rows.map((r) => r[0])).toEqual(found);
    const summaries = cliTrees(found).map((t) => t.name);
    expect(summaries).toHaveLength(3);
    for (const [i, r] of rows.entries()) {
      expect(r[1]).toBe(spawnSync(process.execPath, [CLI, 'decode', found[i] as string], { encoding: 'utf8' }).stdout.split('\n')[0]);
    }
    expect(await page.$eval('#batch-count', (e) => e.textContent)).toBe('3 values');
  }, 30000);

  it('works offline once loaded: with the server gone, a reload still decodes', async () => {
    await open('#0x96000045');
    await page.waitForSelector('body[data-offline="ready"]');
    await new Promise((r) => server.close(r));
    await page.reload();
    await page.waitForSelector('body[data-decoder="ready"]');
    expect((await pageTree())?.value).toBe('0x96000045');
    expect(await page.$eval('#summary', (e) => e.textContent)).toMatch(/^EC 0x25 DABT_CUR /);
  }, 30000);
});
