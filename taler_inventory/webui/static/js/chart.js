// What frees up next: a product's available quantity over the coming hour if no
// new lock is taken, as its live locks expire.  Drawn from the lock listing; the
// API keeps no history, so the chart looks ahead, not back.
import * as dec from "./decimal.js";
import { h } from "./ui.js";

const HOUR_MS = 3600 * 1000;
const W = 600;
const H = 140;
const PAD = { left: 56, right: 12, top: 12, bottom: 28 };
const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, value);
  el.append(...children);
  return el;
}

/** [{at (ms), available (decimal string)}], a step each time a lock expires. */
export function steps(available, locks, now = Date.now()) {
  const points = [{ at: now, available }];
  let current = available;
  for (const lock of [...locks].filter((l) => l.until <= now + HOUR_MS).sort((a, b) => a.until - b.until)) {
    current = dec.add(current, lock.unit_quantity);
    points.push({ at: lock.until, available: current });
  }
  return points;
}

/** A figure with the chart and the same facts in words. */
export function availabilityChart(product, locks) {
  if (product.unit_total_stock === "-1") return null;
  const now = Date.now();
  const points = steps(product.unit_total_available, locks, now);
  const last = points[points.length - 1].available;
  const top = Math.max(Number(last), 1);
  const x = (at) => PAD.left + ((at - now) / HOUR_MS) * (W - PAD.left - PAD.right);
  const y = (value) => PAD.top + (1 - Number(value) / top) * (H - PAD.top - PAD.bottom);
  let d = `M${x(now)},${y(points[0].available)}`;
  for (const p of points.slice(1)) d += ` H${x(p.at).toFixed(1)} V${y(p.available).toFixed(1)}`;
  d += ` H${x(now + HOUR_MS)}`;
  const freed = dec.format(dec.parse(last) - dec.parse(points[0].available));
  const words = points.length > 1
    ? `Available now ${points[0].available} ${product.unit}; in the next hour ${freed} ${product.unit} `
      + `come free as ${points.length - 1} lock${points.length === 2 ? "" : "s"} expire, `
      + `${last} ${product.unit} then, unless new locks are taken.`
    : `Available now ${points[0].available} ${product.unit}; no lock expires in the next hour.`;
  const picture = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img",
    "aria-labelledby": "availability-words", class: "chart" },
    svg("line", { x1: PAD.left, y1: H - PAD.bottom, x2: W - PAD.right, y2: H - PAD.bottom, class: "axis" }),
    svg("line", { x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: H - PAD.bottom, class: "axis" }),
    svg("text", { x: PAD.left - 6, y: y(top) + 4, "text-anchor": "end" }, String(top)),
    svg("text", { x: PAD.left - 6, y: H - PAD.bottom + 4, "text-anchor": "end" }, "0"),
    ...[[0, "now"], [0.5, "+30 min"], [1, "+60 min"]].map(([f, label]) =>
      svg("text", { x: x(now + f * HOUR_MS), y: H - 8, "text-anchor": f === 0 ? "start" : f === 1 ? "end" : "middle" }, label)),
    svg("path", { d, class: "line" }));
  return h("figure", { class: "chart-figure", id: "availability-chart" },
    h("h3", {}, "What frees up in the next hour"), picture, h("figcaption", { id: "availability-words" }, words));
}
