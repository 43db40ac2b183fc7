/**
 * The decoder web page (web/index.html): one value with its summary, field
 * tree and bit ranges; a shareable URL (`#0x96000045`); a batch box that takes
 * values or free text (dmesg) and picks the syndromes out. Decoding is the
 * wasm build of the Rust core (wasm-bindgen --target web, web/dist/pkg); the
 * value syntax and the text finder are the CLI's own (ts/src/syndrome-text.ts).
 */
import type { Field } from '../ts/src/field.js';
import { parseU64, syndromesIn } from '../ts/src/syndrome-text.js';

/** What the page uses of the wasm-bindgen glue. */
interface Decoder {
  default(): Promise<unknown>;
  decodeJson(lo: number, hi: number): string;
  summary(lo: number, hi: number): string;
}

function byId<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (e === null) throw new Error(`#${id} is missing from the page`);
  return e as T;
}

function element(tag: string, className: string, text?: string): HTMLElement {
  const e = document.createElement(tag);
  if (className !== '') e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** 64-bit values cross to the core as u32 halves (`lo`, `hi`), as in the Node builds. */
function halves(v: bigint): [number, number] {
  return [Number(v & 0xffff_ffffn), Number(v >> 32n)];
}

const valueInput = byId<HTMLInputElement>('value');
const error = byId('error');
const summaryLine = byId('summary');
const bits = byId('bits');
const tree = byId('tree');
const batch = byId<HTMLTextAreaElement>('batch');
const batchCount = byId('batch-count');
const batchRows = byId('batch-results').querySelector('tbody') as HTMLTableSectionElement;
const status = byId('status');

/** The tree as nested lists; each item carries its field in data attributes. */
function treeItem(f: Field): HTMLLIElement {
  const li = document.createElement('li');
  li.dataset.name = f.name;
  li.dataset.hi = String(f.hi);
  li.dataset.lo = String(f.lo);
  li.dataset.value = f.value;
  if (f.meaning !== null) li.dataset.meaning = f.meaning;
  const range = f.hi === f.lo ? `[${f.hi}]` : `[${f.hi}:${f.lo}]`;
  li.append(element('span', 'name', f.name), ' ', element('span', 'range', range), ' ', element('code', 'value', f.value));
  if (f.meaning !== null) li.append(': ', element('span', 'meaning', f.meaning));
  if (f.fields.length > 0) {
    const ul = document.createElement('ul');
    ul.append(...f.fields.map(treeItem));
    li.append(ul);
  }
  return li;
}

/**
 * The 64 bits, most significant first: a row of bit numbers, a row of the
 * bits, then one row per depth of the tree with each field over its range.
 */
function drawBits(value: bigint, root: Field): void {
  const cells: HTMLElement[] = [];
  const at = (e: HTMLElement, row: number, hi: number, lo: number): HTMLElement => {
    e.style.gridRow = String(row);
    e.style.gridColumn = `${64 - hi} / ${65 - lo}`;
    return e;
  };
  for (let b = 63; b >= 0; b--) {
    cells.push(at(element('span', 'index', b % 4 === 0 || b === 63 ? String(b) : ''), 1, b, b));
    const one = ((value >> BigInt(b)) & 1n) === 1n;
    cells.push(at(element('span', one ? 'bit one' : 'bit', one ? '1' : '0'), 2, b, b));
  }
  let level = root.fields;
  for (let row = 3; level.length > 0; row++) {
    level.forEach((f, i) => {
      const block = at(element('span', `field c${(i + row) % 6}`, f.name), row, f.hi, f.lo);
      block.title = `${f.name} [${f.hi}:${f.lo}] = ${f.value}${f.meaning === null ? '' : `: ${f.meaning}`}`;
      block.dataset.name = f.name;
      block.dataset.hi = String(f.hi);
      block.dataset.lo = String(f.lo);
      cells.push(block);
    });
    level = level.flatMap((f) => f.fields);
  }
  bits.replaceChildren(...cells);
}

function clear(): void {
  summaryLine.textContent = '';
  bits.replaceChildren();
  tree.replaceChildren();
}

function decodeOne(decoder: Decoder, text: string, fromHash: boolean): void {
  error.hidden = true;
  if (text.trim() === '') {
    clear();
    if (!fromHash) history.replaceState(null, '', location.pathname);
    return;
  }
  const parsed = parseU64(text);
  if ('problem' in parsed) {
    clear();
    error.textContent = `${JSON.stringify(text.trim())}: ${parsed.problem}`;
    error.hidden = false;
    return;
  }
  const [lo, hi] = halves(parsed.value);
  const root = JSON.parse(decoder.decodeJson(lo, hi)) as Field;
  summaryLine.textContent = decoder.summary(lo, hi);
  tree.replaceChildren(treeItem(root));
  drawBits(parsed.value, root);
  if (!fromHash) history.replaceState(null, '', `#${text.trim()}`);
}

/** Blank-separated values, or else the syndromes written in the text. */
function valuesIn(text: string): string[] {
  const words = text.split(/\s+/).filter((w) => w !== '');
  return words.every((w) => !('problem' in parseU64(w))) ? words : syndromesIn(text);
}

function decodeBatch(decoder: Decoder): void {
  const values = valuesIn(batch.value);
  batchCount.textContent = batch.value.trim() === '' ? '' : `${values.length} value${values.length === 1 ? '' : 's'}`;
  batchRows.replaceChildren(
    ...values.map((text) => {
      const parsed = parseU64(text);
      const row = document.createElement('tr');
      const link = element('a', '', text) as HTMLAnchorElement;
      link.href = `#${text}`;
      const cell = document.createElement('td');
      cell.append(link);
      const [lo, hi] = 'problem' in parsed ? [0, 0] : halves(parsed.value);
      row.append(cell, element('td', 'problem' in parsed ? 'bad' : '', 'problem' in parsed ? parsed.problem : decoder.summary(lo, hi)));
      return row;
    }),
  );
}

async function main(): Promise<void> {
  // Relative to this module (js/web/app.js), so the page works from any path.
  const decoder = (await import(new URL('../../pkg/kvm_debug_wasm.js', import.meta.url).href)) as Decoder;
  await decoder.default();
  const fromHash = (): void => {
    valueInput.value = decodeURIComponent(location.hash.slice(1));
    decodeOne(decoder, valueInput.value, true);
  };
  valueInput.addEventListener('input', () => decodeOne(decoder, valueInput.value, false));
  batch.addEventListener('input', () => decodeBatch(decoder));
  window.addEventListener('hashchange', fromHash);
  valueInput.disabled = false;
  batch.disabled = false;
  if (location.hash.length > 1) fromHash();
  document.body.dataset.decoder = 'ready';
  status.textContent = 'decoder ready';
  if ('serviceWorker' in navigator) {
    await navigator.serviceWorker.register('sw.js');
    await navigator.serviceWorker.ready;
    document.body.dataset.offline = 'ready';
    status.textContent = 'decoder ready, and available offline';
  }
}

main().catch((e: unknown) => {
  status.textContent = `the decoder did not load: ${e instanceof Error ? e.message : String(e)}`;
  document.body.dataset.decoder = 'failed';
});
