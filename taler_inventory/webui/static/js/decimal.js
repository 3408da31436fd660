// Exact decimal strings (quantities, amounts) as scaled BigInts: never a float.
const QUANTITY = /^(-?)(\d+)(?:\.(\d+))?$/;
const SCALE = 8; // Taler amounts have up to 8 fraction digits, quantities up to 6

/** A decimal string as a BigInt of 10^-8 units, or null when it is not one. */
export function parse(text) {
  const m = QUANTITY.exec(String(text).trim());
  if (!m || (m[3] && m[3].length > SCALE)) return null;
  const value = BigInt(m[2] + (m[3] || "").padEnd(SCALE, "0"));
  return m[1] ? -value : value;
}

/** The canonical string of a scaled BigInt ("2", "0.375"). */
export function format(value) {
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(SCALE + 1, "0");
  const whole = digits.slice(0, -SCALE);
  const fraction = digits.slice(-SCALE).replace(/0+$/, "");
  return (negative ? "-" : "") + whole + (fraction ? `.${fraction}` : "");
}

export function add(a, b) {
  return format(parse(a) + parse(b));
}

/** Order of two quantities; "-1" is unlimited, more than any number. */
export function compareQuantity(a, b) {
  const x = a === "-1" ? null : parse(a);
  const y = b === "-1" ? null : parse(b);
  if (x === null || y === null) return (x === null) - (y === null);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Order of two amounts "CUR:value": by currency, then by value. */
export function compareAmount(a, b) {
  const [ca, va] = splitAmount(a);
  const [cb, vb] = splitAmount(b);
  if (ca !== cb) return ca < cb ? -1 : 1;
  return compareQuantity(va, vb);
}

export function splitAmount(amount) {
  const at = String(amount || "").indexOf(":");
  return at < 0 ? ["", "0"] : [amount.slice(0, at), amount.slice(at + 1)];
}
