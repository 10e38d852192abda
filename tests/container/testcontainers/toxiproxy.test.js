// finwait's image under Testcontainers' Toxiproxy module for Node, as a user's test starts
// Toxiproxy's: the module starts the image (exposing 8474 and 8666-8697, waiting for
// GET /version), creates proxies on 0.0.0.0:8666+n and drives them with toxiproxy-node-client.
// Each step is checked from a TCP client on the host. Run by tests/container/run.sh, which sets
// DOCKER_HOST (podman's Docker API), FINWAIT_IMAGE, FINWAIT_CT_LABEL and APP_DIR.
"use strict";
const assert = require("node:assert/strict");
const net = require("node:net");
const path = require("node:path");
const { GenericContainer, Network, Wait } = require("testcontainers");
const { ToxiProxyContainer } = require("@testcontainers/toxiproxy");

const labels = { "finwait-ct": process.env.FINWAIT_CT_LABEL || "manual" };

// Asks the example server (through a proxy) for `size` bytes; resolves with what came back.
function fetch(host, port, size) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    let bytes = 0;
    const c = net.connect(port, host, () => c.write(`GET ${size}\n`));
    c.setTimeout(10000, () => c.destroy(new Error("no answer within 10 s")));
    c.on("data", (d) => { bytes += d.length; });
    c.on("end", () => resolve({ bytes, ms: Date.now() - t0 }));
    c.on("error", reject);
  });
}

async function step(what, fn) {
  const t0 = Date.now();
  const r = await fn();
  console.log(`testcontainers: ${what}${r ? ` (${r})` : ""} [${Date.now() - t0} ms]`);
}

(async () => {
  const network = await new Network().start();
  const server = await new GenericContainer("docker.io/library/debian:12-slim")
    .withNetwork(network).withNetworkAliases("server").withLabels(labels)
    .withCopyFilesToContainer([{ source: path.join(process.env.APP_DIR, "server.pl"),
                                 target: "/app/server.pl" }])
    .withCommand(["perl", "/app/server.pl", "8080"])
    .withWaitStrategy(Wait.forLogMessage("listening on"))
    .start();
  let tp;
  try {
    await step("the module started the image", async () => {
      tp = await new ToxiProxyContainer(process.env.FINWAIT_IMAGE)
        .withNetwork(network).withLabels(labels).start();
    });
    const app = await tp.createProxy({ name: "app", upstream: "server:8080" });
    assert.equal(app.instance.listen, "0.0.0.0:8666");
    await step("createProxy relays 1 MB", async () => {
      const r = await fetch(app.host, app.port, 1000000);
      assert.equal(r.bytes, 1000000);
      return `${r.ms} ms`;
    });

    const toxic = await app.instance.addToxic({ type: "latency", stream: "downstream",
                                                toxicity: 1, attributes: { latency: 300 } });
    await step("latency toxic added", async () => {
      const r = await fetch(app.host, app.port, 1000);
      assert.equal(r.bytes, 1000);
      assert.ok(r.ms >= 295, `latency 300 ms, yet the answer took ${r.ms} ms`);
      return `${r.ms} ms`;
    });
    await step("latency toxic updated", async () => {
      await toxic.update({ attributes: { latency: 700 } });
      const r = await fetch(app.host, app.port, 1000);
      assert.equal(r.bytes, 1000);
      assert.ok(r.ms >= 695, `latency 700 ms, yet the answer took ${r.ms} ms`);
      return `${r.ms} ms`;
    });

    await step("setEnabled(false) closes the proxy", async () => {
      await app.setEnabled(false);
      const r = await fetch(app.host, app.port, 1000).catch((e) => ({ bytes: 0, err: e.code }));
      assert.equal(r.bytes, 0, "no byte through a disabled proxy");
      return r.err || "EOF";
    });
    await step("setEnabled(true) opens it again", async () => {
      await app.setEnabled(true);
      const r = await fetch(app.host, app.port, 1000);
      assert.equal(r.bytes, 1000);
      return `${r.ms} ms`;
    });

    const second = await tp.createProxy({ name: "second", upstream: "server:8080" });
    assert.equal(second.instance.listen, "0.0.0.0:8667");
    await step("a second proxy on 8667", async () => {
      const r = await fetch(second.host, second.port, 100000);
      assert.equal(r.bytes, 100000);
      assert.ok(r.ms < 500, `no toxic on it, yet ${r.ms} ms`);
      return `${r.ms} ms`;
    });

    await step("reset removes the toxic", async () => {
      await tp.client.reset();
      const r = await fetch(app.host, app.port, 1000);
      assert.equal(r.bytes, 1000);
      assert.ok(r.ms < 500, `after reset, ${r.ms} ms`);
      await assert.rejects(app.instance.getToxic("latency_downstream"), /404/, "the toxic is gone");
      return `${r.ms} ms`;
    });
  } finally {
    if (tp) await tp.stop();
    await server.stop();
    await network.stop();
  }
  console.log("testcontainers: ok");
})().catch((e) => {
  console.error("testcontainers: FAILED:", e);
  process.exit(1);
});
