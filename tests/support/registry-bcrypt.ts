/**
 * bcrypt ($2b$) for the htpasswd file of the test registry (distribution only accepts bcrypt there).
 * No bcrypt package is installed and Debian's htpasswd is not on every machine, so this is a small,
 * dependency-free implementation. Blowfish's initial state is the fractional part of π in hex; it is
 * computed here (Machin's formula with BigInt) instead of pasting 4 KiB of constants.
 */
import { randomBytes } from "node:crypto";

const WORDS = 18 + 4 * 256;
let initial: Uint32Array | undefined;

/** The first `count` 32-bit words of the fractional part of π. */
function piWords(count: number): Uint32Array {
  const bits = BigInt(count * 32 + 64);
  const one = 1n << bits;
  const arctanInv = (x: bigint) => {
    let sum = 0n;
    let term = one / x;
    const x2 = x * x;
    for (let k = 1n; term !== 0n; k += 2n) {
      sum += ((k - 1n) / 2n) % 2n === 0n ? term / k : -(term / k);
      term /= x2;
    }
    return sum;
  };
  const pi = 16n * arctanInv(5n) - 4n * arctanInv(239n);
  const frac = (pi - 3n * one) >> 64n; // drop the guard bits
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = Number((frac >> BigInt((count - 1 - i) * 32)) & 0xffffffffn);
  return out;
}

class Blowfish {
  readonly P: Uint32Array;
  readonly S: Uint32Array;
  constructor() {
    initial ??= piWords(WORDS);
    this.P = initial.slice(0, 18);
    this.S = initial.slice(18);
  }
  private f(x: number): number {
    const S = this.S;
    return (((S[x >>> 24]! + S[256 + ((x >>> 16) & 255)]!) ^ S[512 + ((x >>> 8) & 255)]!) + S[768 + (x & 255)]!) >>> 0;
  }
  encipher(lr: Uint32Array, off: number): void {
    let l = lr[off]!;
    let r = lr[off + 1]!;
    const P = this.P;
    l ^= P[0]!;
    for (let i = 1; i <= 16; i += 2) {
      r ^= this.f(l) ^ P[i]!;
      l ^= this.f(r) ^ P[i + 1]!;
    }
    lr[off] = (r ^ P[17]!) >>> 0;
    lr[off + 1] = l >>> 0;
  }
  /** Blowfish_expandstate (salt) / Blowfish_expand0state (no salt). */
  expand(key: Uint8Array, salt?: Uint8Array): void {
    let kp = 0;
    const word = (data: Uint8Array, pos: { p: number }) => {
      let w = 0;
      for (let i = 0; i < 4; i++) {
        w = ((w << 8) | data[pos.p]!) >>> 0;
        pos.p = (pos.p + 1) % data.length;
      }
      return w;
    };
    const kpos = { p: kp };
    for (let i = 0; i < 18; i++) this.P[i] = (this.P[i]! ^ word(key, kpos)) >>> 0;
    kp = kpos.p;
    const spos = { p: 0 };
    const lr = new Uint32Array(2);
    const step = (target: Uint32Array, i: number) => {
      if (salt) {
        lr[0] = (lr[0]! ^ word(salt, spos)) >>> 0;
        lr[1] = (lr[1]! ^ word(salt, spos)) >>> 0;
      }
      this.encipher(lr, 0);
      target[i] = lr[0]!;
      target[i + 1] = lr[1]!;
    };
    for (let i = 0; i < 18; i += 2) step(this.P, i);
    for (let i = 0; i < 1024; i += 2) step(this.S, i);
  }
}

const ALPHABET = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

function encode64(data: Uint8Array, length: number): string {
  let out = "";
  let i = 0;
  while (i < length) {
    let c1 = data[i++]!;
    out += ALPHABET[(c1 >> 2) & 0x3f];
    c1 = (c1 & 0x03) << 4;
    if (i >= length) {
      out += ALPHABET[c1 & 0x3f];
      break;
    }
    let c2 = data[i++]!;
    c1 |= (c2 >> 4) & 0x0f;
    out += ALPHABET[c1 & 0x3f];
    c1 = (c2 & 0x0f) << 2;
    if (i >= length) {
      out += ALPHABET[c1 & 0x3f];
      break;
    }
    c2 = data[i++]!;
    c1 |= (c2 >> 6) & 0x03;
    out += ALPHABET[c1 & 0x3f];
    out += ALPHABET[c2 & 0x3f];
  }
  return out;
}

function decode64(text: string, length: number): Uint8Array {
  const out: number[] = [];
  const v = (c: string) => {
    const i = ALPHABET.indexOf(c);
    if (i < 0) throw new Error(`invalid bcrypt base64 character ${c}`);
    return i;
  };
  let i = 0;
  while (out.length < length && i < text.length - 1) {
    const c1 = v(text[i++]!);
    const c2 = v(text[i++]!);
    out.push(((c1 << 2) | ((c2 & 0x30) >> 4)) & 0xff);
    if (out.length >= length || i >= text.length) break;
    const c3 = v(text[i++]!);
    out.push((((c2 & 0x0f) << 4) | ((c3 & 0x3c) >> 2)) & 0xff);
    if (out.length >= length || i >= text.length) break;
    const c4 = v(text[i++]!);
    out.push((((c3 & 0x03) << 6) | c4) & 0xff);
  }
  return Uint8Array.from(out);
}

/** bcrypt with an explicit salt string ("$2b$04$<22 chars>"), e.g. to check known vectors. */
export function bcryptWithSalt(password: string, setting: string): string {
  const m = /^\$2([aby])\$(\d\d)\$([./A-Za-z0-9]{22})/.exec(setting);
  if (!m) throw new Error("invalid bcrypt setting");
  const cost = Number(m[2]);
  const salt = decode64(m[3]!, 16);
  const key = new Uint8Array([...Buffer.from(password, "utf8").subarray(0, 72), 0]).subarray(0, 72);
  const bf = new Blowfish();
  bf.expand(key, salt);
  for (let i = 0; i < 2 ** cost; i++) {
    bf.expand(key);
    bf.expand(salt);
  }
  const text = Buffer.from("OrpheanBeholderScryDoubt", "latin1");
  const cdata = new Uint32Array(6);
  for (let i = 0; i < 6; i++) cdata[i] = text.readUInt32BE(i * 4);
  for (let i = 0; i < 64; i++) for (let j = 0; j < 6; j += 2) bf.encipher(cdata, j);
  const out = Buffer.alloc(24);
  for (let i = 0; i < 6; i++) out.writeUInt32BE(cdata[i]!, i * 4);
  return `$2${m[1]}$${m[2]}$${encode64(salt, 16)}${encode64(out, 23)}`;
}

/** A fresh $2b$ hash (cost 4 by default: test passwords need no work factor). */
export function bcryptHash(password: string, cost = 4): string {
  return bcryptWithSalt(password, `$2b$${String(cost).padStart(2, "0")}$${encode64(randomBytes(16), 16)}`);
}
