// Speed of the browser UI, measured in Debian's Chromium against a running server:
//   node bench-ui.mjs BASE_URL ADMIN_TOKEN
// Seeds 1 000 messaging routings and a routing whose version holds 500 actions (the most a tree
// may hold), then measures: the routings list until its 1 000 rows are drawn; the tree editor
// until its 500 nodes are drawn; the frames while a node is dragged across the canvas.
import { launch } from "./common.mjs";

const [base, token] = process.argv.slice(2);
const api = async (method, path, body) => {
  const r = await fetch(`${base}/api/v1/${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  return r.status === 204 ? null : r.json();
};

const email = "bench@shop.test";
const password = "cobalt-meadow-lantern-91";
await api("POST", "accounts", { email, name: "Bench", password, role: "administrator" });
for (let i = 0; i < 1000; i++) {
  await api("POST", "routings", { name: `Routing ${i}`, reference: `R${String(i).padStart(4, "0")}`, kind: "interaction_start", channel_family: "messaging" });
}
// a chain of 499 messages after Start, laid out in a grid
const id = (n) => `00000000-0000-7000-8000-${String(n).padStart(12, "0")}`;
const actions = [{ id: id(1), type: "start", params: {}, position: { x: 0, y: 0 } }];
const links = [];
for (let n = 2; n <= 500; n++) {
  actions.push({ id: id(n), type: "simple_message", params: { message: `Message ${n}` }, position: { x: ((n - 1) % 20) * 240, y: Math.floor((n - 1) / 20) * 150 } });
  links.push({ id: id(1000 + n), from: id(n - 1), branch: "ok", to: id(n) });
}
const imported = await api("POST", "routings/import", {
  format: "switchyard.routing",
  format_version: 1,
  routing: { reference: "BIG", name: "Big tree", kind: "interaction_start", channel_family: "messaging" },
  versions: [{ number: 1, name: "500 actions", status: "development", tree: { actions, links } }],
});
const routing = await api("GET", `routings/${imported.routing.id}`);
const version = routing.versions[0].id;

const browser = await launch();
const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
page.setDefaultTimeout(60000);
await page.goto(base + "/");
await page.getByLabel("Email").fill(email);
await page.getByLabel("Password").fill(password);
await page.getByRole("button", { name: "Sign in" }).click();
await page.getByRole("heading", { name: "Messaging smart routings" }).waitFor();
// the app is loaded; each figure is from a click (client-side navigation) to the drawn page
const until = (selector, count) =>
  page.evaluate(
    ([selector, count]) =>
      new Promise((done) => {
        const t0 = performance.now();
        const look = () => (document.querySelectorAll(selector).length >= count ? done(performance.now() - t0) : requestAnimationFrame(look));
        look();
      }),
    [selector, count],
  );
const figures = {};
for (let run = 0; run < 3; run++) {
  await page.getByRole("link", { name: "Email smart routings" }).click();
  await page.getByRole("heading", { name: "Email smart routings" }).waitFor();
  const [ms] = await Promise.all([until("tbody tr", 1000), page.getByRole("link", { name: "Messaging smart routings" }).first().click()]);
  (figures.list ??= []).push(ms);
}
for (let run = 0; run < 3; run++) {
  await page.goto(`${base}/routings/messaging`);
  await page.getByRole("heading", { name: "Messaging smart routings" }).waitFor();
  await page.evaluate((url) => {
    history.pushState(null, "", url);
    window.__t0 = performance.now();
  }, `/routings/messaging/${imported.routing.id}/versions/${version}`);
  const ms = await page.evaluate(
    () =>
      new Promise((done) => {
        window.dispatchEvent(new PopStateEvent("popstate"));
        const look = () => (document.querySelectorAll(".react-flow__node").length >= 500 ? done(performance.now() - window.__t0) : requestAnimationFrame(look));
        look();
      }),
  );
  (figures.tree ??= []).push(ms);
}
// drag a node across the canvas for 2 s, counting frames
const node = page.locator(".react-flow__node").first();
const box = await node.boundingBox();
await page.evaluate(() => {
  window.__frames = [];
  const tick = (t) => {
    window.__frames.push(t);
    if (window.__frames.length < 100000) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
});
await page.mouse.move(box.x + 20, box.y + 10);
await page.mouse.down();
const steps = 120;
for (let i = 1; i <= steps; i++) {
  await page.mouse.move(box.x + 20 + i * 4, box.y + 10 + i * 2);
  await page.waitForTimeout(16);
}
await page.mouse.up();
const frames = await page.evaluate(() => window.__frames);
const gaps = frames.slice(1).map((t, i) => t - frames[i]).sort((a, b) => a - b);
const median = (xs) => xs[Math.floor(xs.length / 2)];
const p95 = gaps[Math.floor(gaps.length * 0.95)];
console.log(`routings list, 1 000 routings (5 pages of 200 fetched, then drawn): ${figures.list.map((x) => x.toFixed(0)).join(", ")} ms (median ${median([...figures.list].sort((a, b) => a - b)).toFixed(0)} ms)`);
console.log(`tree editor, 500 actions (version fetched, catalogue cached, nodes drawn): ${figures.tree.map((x) => x.toFixed(0)).join(", ")} ms (median ${median([...figures.tree].sort((a, b) => a - b)).toFixed(0)} ms)`);
console.log(`dragging a node on the 500-action canvas: ${frames.length} frames; frame time median ${median(gaps).toFixed(1)} ms, 95th percentile ${p95.toFixed(1)} ms`);
await browser.close();
