// Drives finwait's admin API with Toxiproxy's own Node client (toxiproxy-node-client) and
// checks what the client gets back and what a TCP peer sees. Run by tests/compat/run.sh.
"use strict";
const assert = require("node:assert/strict");
const net = require("node:net");
const { Toxiproxy } = require("toxiproxy-node-client");

// Milliseconds from a client's write through the proxy to the echo coming back.
function roundTrip(port) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const c = net.connect(port, "127.0.0.1", () => c.write("x"));
    c.on("data", () => { c.end(); resolve(Date.now() - t0); });
    c.on("error", reject);
  });
}

(async () => {
  const tp = new Toxiproxy(process.argv[2]);
  const echo = net.createServer((s) => { s.on("error", () => {}); s.on("data", (d) => s.write(d)); });
  await new Promise((r) => echo.listen(0, "127.0.0.1", r));
  const up = echo.address().port;

  assert.match(await tp.getVersion(), /version/);
  const p = await tp.createProxy({ name: "echo", listen: "localhost:0", upstream: `127.0.0.1:${up}` });
  assert.equal(p.enabled, true);
  const port = Number(p.listen.split(":").pop());
  assert.ok(port > 0, "the bound port is reported");
  assert.ok(await roundTrip(port) < 150);

  const t = await p.addToxic({ type: "latency", stream: "downstream", toxicity: 1,
                               attributes: { latency: 200, jitter: 0 } });
  assert.equal(t.name, "latency_downstream");
  assert.deepEqual(t.attributes, { latency: 200, jitter: 0 });
  assert.ok(await roundTrip(port) >= 195, "latency 200 applies");
  const t2 = await t.update({ attributes: { latency: 50 } });
  assert.equal(t2.attributes.latency, 50);
  assert.equal((await p.getToxic("latency_downstream")).attributes.latency, 50);
  await t.remove();
  assert.ok(await roundTrip(port) < 150, "removed");

  // a pooled connection opened before the toxic: its next round trip is delayed, as in Toxiproxy
  const pooled = net.connect(port, "127.0.0.1");
  await new Promise((r) => pooled.once("connect", r));
  const pooledTrip = () => new Promise((resolve) => {
    const t0 = Date.now();
    pooled.once("data", () => resolve(Date.now() - t0));
    pooled.write("y");
  });
  assert.ok(await pooledTrip() < 150);
  const t3 = await p.addToxic({ type: "latency", stream: "downstream", attributes: { latency: 200 } });
  assert.ok(await pooledTrip() >= 195, "a toxic added reaches an open connection");
  await t3.remove();
  assert.ok(await pooledTrip() < 150, "and leaves it when removed");
  pooled.destroy();

  assert.equal((await p.update({ enabled: false })).enabled, false);
  await assert.rejects(roundTrip(port), /ECONNREFUSED/);
  await tp.reset();
  const all = await tp.getAll();
  assert.deepEqual(Object.keys(all), ["echo"]);
  assert.equal(all.echo.enabled, true);

  const pop = await tp.populate([{ name: "a", listen: "127.0.0.1:0", upstream: `127.0.0.1:${up}` }]);
  assert.deepEqual(Object.keys(pop), ["a"]);
  await assert.rejects(p.addToxic({ type: "latncy", attributes: {} }), /status code 400/);
  await (await tp.get("a")).remove();
  assert.deepEqual(Object.keys(await tp.getAll()), ["echo"]);
  echo.close();
  console.log("ok - toxiproxy-node-client drives finwait's admin API, open connections included");
})().catch((e) => { console.error("FAILED:", e); process.exit(1); });
