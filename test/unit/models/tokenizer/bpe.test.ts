/**
 * BytePairEncoder against the old BPE loop (`referenceMerge`): the priority-queue merge must give
 * the reference's ids on every word, and `encodeWordStart` the reference's first ids of the
 * whole word while encoding only its start.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { BytePairEncoder, END_OF_WORD, WORD_LOOKAHEAD_BYTES } from '../../../../src/models/tokenizer/bpe.js';
import { toByteLevel } from '../../../../src/models/tokenizer/byte-unicode.js';
import { buildMergeRanks, parseMergesText, parseVocab } from '../../../../src/models/tokenizer/vocab-files.js';
import { ReferenceTokenizer, referenceMerge } from './reference-tokenizer.js';
import { tokenizerFixtures } from './tokenizer-fixtures.js';

/** A small deterministic generator (an LCG), so a failure names a word that can be rebuilt. */
function random(seed: number): { next(): number; pick<T>(items: readonly T[]): T } {
  let state = seed;
  const next = (): number => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x80000000;
  };
  return { next, pick: (items) => items[Math.floor(next() * items.length)]! };
}

const LETTERS = [...'abcdefghijklmnopqrstuvwxyz'];
const PUNCTUATION = [...'!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'];
const CJK = Array.from({ length: 400 }, (_, i) => String.fromCodePoint(0x4e00 + i * 47));
const EMOJI = Array.from({ length: 80 }, (_, i) => String.fromCodePoint(0x1f600 + i));
const ACCENTED = [...'éèàüößçñøåæœ'];

/** Words of about `length` UTF-8 bytes, one family each: what a letter or punctuation run can be. */
function wordFamilies(englishWords: readonly string[]): Record<string, (rng: ReturnType<typeof random>, length: number) => string> {
  const run = (alphabet: readonly string[]) => (rng: ReturnType<typeof random>, length: number) => Array.from({ length }, () => rng.pick(alphabet)).join('');
  const periodic = (alphabet: readonly string[]) => (rng: ReturnType<typeof random>, length: number) => {
    const unit = run(alphabet)(rng, 1 + Math.floor(rng.next() * 12));
    return unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
  };
  return {
    'random letters': run(LETTERS),
    'four letters': run([...'aest']),
    'two letters': run(['a', 'b']),
    'English words run together': (rng, length) => {
      let word = '';
      while (word.length < length) word += rng.pick(englishWords);
      return word;
    },
    'repeated letter patterns': periodic(LETTERS),
    punctuation: run(PUNCTUATION),
    'repeated punctuation patterns': periodic(PUNCTUATION),
    CJK: (rng, length) => run(CJK)(rng, Math.ceil(length / 3)),
    emoji: (rng, length) => run(EMOJI)(rng, Math.ceil(length / 4)),
    'one emoji repeated': (rng, length) => rng.pick(EMOJI).repeat(Math.ceil(length / 4)),
    accented: (rng, length) => run(ACCENTED)(rng, Math.ceil(length / 2)),
  };
}

/**
 * Words a hill-climbing search over these alphabets found to carry a cut's effect furthest back
 * (13–15 bytes; random words: 6), kept so the bound below is checked on them too.
 */
const ADVERSARIAL = [
  'losuzxbeqadvgysvmfmsgfjyaoxbugsjcfzewsmogvmmtwygqtgrgjtonjxeityhobnritefafistxrouarkvwndmqhxirbwrhdezhhquknnrzjhgjdcvksc',
  'eetlnnottlillasetntssriolanentssrsnsrioaloesletnilernolsrteserlorilnsiolirnaeieaoaaseeltorrntaaattessritorarinasetillors',
  '😂😉😄😇😆😆😂😈😅😀😉😁😉😀😇😇😆😅😂😄😆😂😉😆😃😀😅😆😂😀😇😇😆😄😈😈😈😁😃😇😁😀😃😉😇😀😂😂😂😂😃😆😃😉😉😀😈😀😅😅😇😃😅😀😂😄😀😀😈😅😄😆😃😁😇😈😁😇😀😀😄😆😇😁😉😀😄😄😀😃😄😈😇😀😀😄😁😅😉😅',
  'italostxxedobamaforceronstreamwaveupdatesomeonestudiopaldowntownheardboardisedquiterallyworksstarexcitingchriswriterliesblinyasymadeamibadpiedyingwantederyfanextcialionppinggpusaasvinpassedsmithnersst',
];

describe.each((await tokenizerFixtures()).map((f) => [f.name, f] as const))('BytePairEncoder on tokenizer fixture %s', (_name, fixture) => {
  let bpe: BytePairEncoder;
  let reference: ReferenceTokenizer;
  let families: ReturnType<typeof wordFamilies>;
  let tokenLength: Map<number, number>;
  beforeAll(() => {
    reference = new ReferenceTokenizer(fixture);
    const vocab = parseVocab(JSON.parse(fixture.vocab), 'vocab.json');
    bpe = new BytePairEncoder(vocab, buildMergeRanks(vocab, parseMergesText(fixture.merges, 'merges.txt'), { vocab: 'v', merges: 'm' }));
    tokenLength = new Map([...vocab].map(([token, id]) => [id, token.endsWith(END_OF_WORD) ? token.length - END_OF_WORD.length : token.length]));
    const english = [...vocab.keys()].filter((token) => /^[a-z]+<\/w>$/.test(token)).map((token) => token.slice(0, -END_OF_WORD.length));
    families = wordFamilies(english);
  });

  it('encodes every word of the golden prompts as the reference does', () => {
    for (const c of fixture.cases) {
      for (const word of c.prompt.toLowerCase().split(/\s+/).filter(Boolean)) expect(bpe.encodeWord(word), word).toEqual(reference.encodeWord(word));
    }
  });

  it('encodes 20 random words of each family, 1 to 3000 bytes, as the reference does', () => {
    for (const [name, make] of Object.entries(families)) {
      const rng = random(name.length);
      for (let i = 0; i < 20; i++) {
        const word = make(rng, 1 + Math.floor(rng.next() * 3000));
        expect(bpe.encodeWord(word), `${name} #${i}`).toEqual(reference.encodeWord(word));
        if (i % 4 === 0) expect(bpe.encodeBytes(toByteLevel(word), false), `${name} #${i} without </w>`).toEqual(reference.encodeWord(word, false));
      }
    }
  }, 60_000);

  it('encodes the adversarial words, whole and as starts, as the reference does', () => {
    for (const word of ADVERSARIAL) {
      expect(bpe.encodeWord(word)).toEqual(reference.encodeWord(word));
      for (let cut = 1; cut < word.length; cut += 7) expect(bpe.encodeBytes(toByteLevel(word.slice(0, cut)), false)).toEqual(reference.encodeWord(word.slice(0, cut), false));
    }
  });

  it('gives the reference first ids of words longer than it encodes (7–12k bytes), for 1, 10, 75 and 76 ids', () => {
    for (const [name, make] of Object.entries(families)) {
      const rng = random(name.length + 1);
      const word = make(rng, 7000 + Math.floor(rng.next() * 5000));
      const whole = reference.encodeWord(word);
      for (const maxTokens of [1, 10, 75, 76]) {
        expect(toByteLevel(word).length, name).toBeGreaterThan(bpe.startBytes(maxTokens));
        expect(bpe.encodeWordStart(word, maxTokens), `${name}, ${maxTokens} ids`).toEqual(whole.slice(0, maxTokens));
      }
    }
  }, 60_000);

  it('gives a word that fits whole, cut to maxTokens, from encodeWordStart', () => {
    const word = 'supercalifragilisticexpialidocious';
    expect(bpe.encodeWordStart(word, 100)).toEqual(reference.encodeWord(word));
    expect(bpe.encodeWordStart(word, 2)).toEqual(reference.encodeWord(word).slice(0, 2));
  });

  it(`never lets a cut change ids more than 64 bytes before it, far inside the ${WORD_LOOKAHEAD_BYTES} bytes encodeWordStart keeps`, () => {
    // For each cut: encode the bytes before it as a word that goes on, and find the first id
    // that differs from the whole word's; the distance from that id's start to the cut is how
    // far back the cut reached.
    const reach = (word: string, rng: ReturnType<typeof random>, cuts: number): number => {
      const bytes = toByteLevel(word);
      const whole = bpe.encodeWord(word);
      const starts: number[] = [];
      let offset = 0;
      for (const id of whole) {
        starts.push(offset);
        offset += tokenLength.get(id)!;
      }
      let worst = 0;
      for (let k = 0; k < cuts; k++) {
        const cut = 1 + Math.floor(rng.next() * (bytes.length - 1));
        const start = bpe.encodeBytes(bytes.slice(0, cut), false);
        let same = 0;
        while (same < start.length && start[same] === whole[same]) same++;
        worst = Math.max(worst, cut - (starts[same] ?? offset));
      }
      return worst;
    };
    const worst: Record<string, number> = {};
    for (const [name, make] of Object.entries(families)) {
      const rng = random(name.length + 2);
      worst[name] = 0;
      for (let i = 0; i < 10; i++) worst[name] = Math.max(worst[name]!, reach(make(rng, 1500), rng, 50));
    }
    const rng = random(3);
    worst.adversarial = Math.max(...ADVERSARIAL.map((word) => reach(word, rng, 200)));
    console.log('furthest reach of a cut, in bytes:', worst);
    for (const [name, bytes] of Object.entries(worst)) expect(bytes, name).toBeLessThanOrEqual(64);
  });
});

describe('BytePairEncoder on random merge tables', () => {
  it('matches the reference on 200 random tables over a, b, c, ranks shuffled so merges of later symbols can come first', () => {
    const rng = random(17);
    for (let table = 0; table < 200; table++) {
      const symbols = ['a', 'b', 'c', 'a</w>', 'b</w>', 'c</w>'];
      const merges: string[] = [];
      for (let k = 0; k < 30; k++) {
        const left = rng.pick(symbols.filter((s) => !s.endsWith(END_OF_WORD)));
        const right = rng.pick(symbols);
        const key = `${left} ${right}`;
        if (merges.includes(key)) continue;
        merges.push(key);
        if (!symbols.includes(left + right)) symbols.push(left + right);
      }
      for (let i = merges.length - 1; i > 0; i--) {
        const j = Math.floor(rng.next() * (i + 1));
        [merges[i], merges[j]] = [merges[j]!, merges[i]!];
      }
      const vocab = new Map(symbols.map((s, id) => [s, id]));
      const ranks = new Map(merges.map((m, rank) => [m, rank]));
      const bpe = new BytePairEncoder(vocab, ranks);
      for (let w = 0; w < 20; w++) {
        const word = Array.from({ length: 1 + Math.floor(rng.next() * 40) }, () => rng.pick(['a', 'b', 'c'])).join('');
        const expected = referenceMerge(word, ranks).map((s) => vocab.get(s)!);
        expect(bpe.encodeWord(word), `table ${table} [${merges.join(', ')}], word ${word}`).toEqual(expected);
      }
    }
  });
});
