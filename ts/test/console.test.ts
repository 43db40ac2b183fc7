/** The guest console's escape handling (ts/src/cli/console.ts): Ctrl-A x quits, Ctrl-A Ctrl-A is one Ctrl-A. */
import { PassThrough } from 'stream';
import { attachConsole, escapeFilter } from '../src/cli/console';

describe('console', () => {
  test('Ctrl-A x quits and nothing after it goes to the guest; Ctrl-A Ctrl-A sends one Ctrl-A', () => {
    let quits = 0;
    const f = escapeFilter(() => quits++);
    expect([...f(Buffer.from('ls\r'))]).toEqual([...Buffer.from('ls\r')]);
    expect([...f(Buffer.from([0x01, 0x01, 0x41]))]).toEqual([0x01, 0x41]);
    expect(quits).toBe(0);
    // the escape split across two reads
    expect([...f(Buffer.from([0x61, 0x01]))]).toEqual([0x61]);
    expect([...f(Buffer.from([0x78, 0x62]))]).toEqual([]);
    expect(quits).toBe(1);
    // any other key after Ctrl-A is swallowed
    expect([...f(Buffer.from([0x01, 0x7a, 0x63]))]).toEqual([0x63]);
  });

  test('a non-terminal stdin goes to the guest a line at a time', () => {
    const stdin = new PassThrough();
    const got: string[] = [];
    const detach = attachConsole(stdin, { input: (b) => got.push(b.toString()), quit: () => undefined });
    stdin.write('echo a');
    expect(got).toEqual([]);
    stdin.write('b\necho c\nech');
    expect(got).toEqual(['echo ab\necho c\n']);
    detach();
    stdin.write('o d\n');
    expect(got).toEqual(['echo ab\necho c\n']);
  });
});
